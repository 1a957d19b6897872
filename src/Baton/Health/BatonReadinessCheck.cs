using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Health;

/// <summary>
/// The readiness check <c>AddBatonReadiness()</c> registers: Healthy while this process serves, Unhealthy before it
/// serves and from the moment it stops for good. Without <c>UseBaton()</c> it follows the host's lifetime instead
/// (ready once started, unready once stopping), so the same app runs with or without Baton.
/// </summary>
internal sealed class BatonReadinessCheck : IHealthCheck
{
    private readonly BatonReadiness? _readiness;
    private readonly IHostApplicationLifetime? _lifetime;

    public BatonReadinessCheck(BatonReadiness? readiness, IHostApplicationLifetime? lifetime, ILogger logger)
    {
        _readiness = readiness;
        _lifetime = lifetime;
        if (readiness is null)
        {
            Log.ReadinessWithoutBaton(logger, Environment.ProcessId);
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Check());

    private HealthCheckResult Check()
    {
        if (_readiness is not null)
        {
            return _readiness.State switch
            {
                Readiness.Serving => HealthCheckResult.Healthy("serving"),
                Readiness.Stopping => HealthCheckResult.Unhealthy("stopping: finishing what it has, taking nothing new"),
                _ => HealthCheckResult.Unhealthy("not serving yet"),
            };
        }

        if (_lifetime is null || !_lifetime.ApplicationStarted.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("not serving yet");
        }

        return _lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("stopping")
            : HealthCheckResult.Healthy("serving");
    }
}
