using Baton.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Baton;

/// <summary>Baton's readiness check for ASP.NET Core health checks: <c>AddHealthChecks().AddBatonReadiness()</c>.</summary>
public static class BatonHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check that is Healthy while this process serves and Unhealthy before it serves and from the moment it
    /// stops for good (SIGTERM, SIGINT, <c>StopApplication()</c>) - for the whole of <see cref="BatonOptions.DrainDelay"/>,
    /// while the process still accepts, so a load balancer or Kubernetes takes it out of rotation before any client is
    /// refused. A handover (SIGHUP) never makes it Unhealthy: the listening socket keeps being served throughout, by
    /// this process and then by the new one.
    /// </summary>
    /// <remarks>
    /// Map it alone for readiness, e.g. <c>app.MapHealthChecks("/health/ready", new() { Predicate = c =&gt; c.Tags.Contains("ready") })</c>,
    /// and keep it out of liveness: a draining process is alive. Without <c>UseBaton()</c> the check follows the host's
    /// lifetime (Healthy once started, Unhealthy once stopping).
    /// </remarks>
    /// <param name="builder">The health checks builder from <c>services.AddHealthChecks()</c>.</param>
    /// <param name="name">The check's name in reports.</param>
    /// <param name="tags">The check's tags; null gives <c>["ready"]</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHealthChecksBuilder AddBatonReadiness(this IHealthChecksBuilder builder, string name = "baton", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);

        // One instance for the app's life (a registration's factory runs for every health report).
        builder.Services.TryAddSingleton(static services => new BatonReadinessCheck(
            services.GetService<BatonReadiness>(),
            services.GetService<IHostApplicationLifetime>(),
            services.GetService<ILoggerFactory>()?.CreateLogger("Baton") ?? NullLogger.Instance));
        return builder.Add(new HealthCheckRegistration(
            name, static services => services.GetRequiredService<BatonReadinessCheck>(), HealthStatus.Unhealthy, tags ?? ["ready"]));
    }
}
