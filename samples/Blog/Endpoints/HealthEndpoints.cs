using Blog.Api;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Blog.Endpoints;

/// <summary>
/// <c>GET /health/ready</c>: Baton's readiness, 503 before the process serves and from the moment it stops (for the
/// whole of <c>Baton:DrainDelay</c>, while it still accepts), never during a SIGHUP handover. <c>GET /health/live</c>:
/// the process answers; no check runs, so a draining or database-less process is not restarted for it. Both anonymous,
/// outside the rate limit, in the API's envelope.
/// </summary>
/// <remarks>
/// Readiness leaves the database out on purpose: a database outage would take every instance out of rotation at once,
/// turning failed writes into refused connections for every route, /auth included.
/// </remarks>
internal static class HealthEndpoints
{
    public static WebApplication MapHealthEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = static check => check.Tags.Contains("ready"), ResponseWriter = WriteAsync });
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = static _ => false, ResponseWriter = WriteAsync });
        return app;
    }

    /// <summary>The middleware has set the status (200, or 503 when Unhealthy); the body says the same in the envelope.</summary>
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        var code = context.Response.StatusCode == StatusCodes.Status200OK ? ApiCode.Success : ApiCode.ServiceUnavailable;
        var envelope = new Envelope<HealthData>(code, ApiCodes.Message(code), new HealthData(report.Status.ToString()));
        return context.Response.WriteAsJsonAsync(envelope, BlogJsonContext.Default.EnvelopeHealthData, contentType: null, context.RequestAborted);
    }
}
