using System.Text.Json.Serialization;
using Baton;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

// The smallest app on Baton: `kill -HUP <pid>` restarts it without dropping a request.
var builder = WebApplication.CreateSlimBuilder(args);

// The slim builder leaves out HTTPS from configuration (Kestrel:Endpoints, Kestrel:Certificates, --urls https://...).
builder.WebHost.UseKestrelHttpsConfiguration();

// Hello:PlainKestrel=true runs the same app without Baton: the baseline the benchmarks compare against.
if (!builder.Configuration.GetValue<bool>("Hello:PlainKestrel"))
{
    builder.UseBaton();
}

builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, HelloJson.Default));

// Readiness (tag "ready"): Unhealthy before the process serves and from the moment it stops (during Baton:DrainDelay
// too), never during a SIGHUP handover. Without UseBaton() it follows the host's lifetime.
builder.Services.AddHealthChecks().AddBatonReadiness();

// Lets tests stand in for a successor that hangs while starting (a slow migration, a stuck dependency).
var startDelay = builder.Configuration.GetValue<int>("Hello:StartDelayMilliseconds");
if (startDelay > 0)
{
    Thread.Sleep(startDelay);
}

var app = builder.Build();
var started = DateTimeOffset.UtcNow;

app.MapGet("/", () => new HelloReply(Environment.ProcessId, started));

// Readiness for load balancers and Kubernetes; liveness only says the process answers (no check runs), so a draining
// process is never restarted for being busy.
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });

// Waits, then answers: an in-flight request for drain and hammer tests. Honors the client going away.
app.MapGet("/slow", async (int? ms, HttpContext context, ILogger<HelloReply> logger) =>
{
    var wait = Math.Clamp(ms ?? 1000, 0, 600_000);
    HelloLog.SlowRequestStarted(logger, wait, Environment.ProcessId);
    await Task.Delay(wait, context.RequestAborted);
    return new HelloReply(Environment.ProcessId, started);
});

// Waits without honouring the client going away: a handler a hammer cannot cancel.
app.MapGet("/stubborn", (int? ms, ILogger<HelloReply> logger) =>
{
    var wait = Math.Clamp(ms ?? 1000, 0, 600_000);
    HelloLog.SlowRequestStarted(logger, wait, Environment.ProcessId);
    Thread.Sleep(wait);
    return new HelloReply(Environment.ProcessId, started);
});

// A large body, for checking that a response in flight over a handover arrives whole.
app.MapGet("/big", async (int? kb, HttpContext context) =>
{
    var size = Math.Clamp(kb ?? 1024, 1, 65_536);
    context.Response.ContentType = "application/octet-stream";
    context.Response.ContentLength = size * 1024L;
    var chunk = new byte[1024];
    for (var i = 0; i < size; i++)
    {
        await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
    }
});

app.Run();

internal sealed record HelloReply(int Pid, DateTimeOffset Started);

internal static partial class HelloLog
{
    // Tests wait for this line to know a request is in flight, instead of sleeping.
    [LoggerMessage(1, LogLevel.Information, "Slow request started: {Milliseconds} ms in process {Pid}")]
    public static partial void SlowRequestStarted(ILogger logger, int milliseconds, int pid);
}

[JsonSerializable(typeof(HelloReply))]
internal sealed partial class HelloJson : JsonSerializerContext;
