using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json.Serialization;
using Baton;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

// The smallest app on Baton: `kill -HUP <pid>` restarts it without dropping a request.
var builder = WebApplication.CreateSlimBuilder(args);

// The slim builder leaves HTTPS out of Kestrel's configuration loader: without this, an https endpoint in
// Kestrel:Endpoints or --urls fails the start. With it, certificates (PEM or PFX) come from configuration and are read
// by each process at start, so a SIGHUP after swapping the files serves the new ones.
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

// IBatonDrainSignal for /ws and /events, also without UseBaton() (then it follows ApplicationStopping).
builder.Services.AddBatonDrainSignal();

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
// (Baton's warm-up requests it before a new process serves: no log line for those, the tests count them.)
app.MapGet("/slow", async (int? ms, HttpContext context, ILogger<HelloReply> logger) =>
{
    var wait = Math.Clamp(ms ?? 1000, 0, 600_000);
    if (!context.IsBatonWarmUp())
    {
        HelloLog.SlowRequestStarted(logger, wait, Environment.ProcessId);
    }

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

// Long-lived connections that move when this process drains (IBatonDrainSignal): a WebSocket echo that closes with
// 1012 (Service Restart), and server-sent events that end with a retry hint, so that clients reconnect - to the new
// process after a SIGHUP - instead of holding this one until HammerTime.
app.UseWebSockets();
app.Map("/ws", LongLived.EchoAsync).DisableRequestTimeout();
app.MapGet("/events", LongLived.EventsAsync).DisableRequestTimeout();

app.Run();

internal static class LongLived
{
    // RFC 6455 section 7.4.1 registers 1012 as "Service Restart"; WebSocketCloseStatus has no member for it.
    private const WebSocketCloseStatus ServiceRestart = (WebSocketCloseStatus)1012;

    // How long a client that was sent the close frame gets to answer it before the socket is aborted.
    private static readonly TimeSpan CloseAnswerTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Echoes every message, frame by frame; on drain, between two messages, closes with 1012.</summary>
    public static async Task EchoAsync(HttpContext context, IBatonDrainSignal drain)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[16 * 1024];
        var draining = Task.Delay(Timeout.Infinite, drain.Draining);
        var inMessage = false;
        while (true)
        {
            // The drain is awaited beside the receive, not passed to it: a cancelled WebSocket receive aborts the socket.
            var receiving = socket.ReceiveAsync(buffer.AsMemory(), context.RequestAborted).AsTask();
            if (!inMessage && await Task.WhenAny(receiving, draining) == draining)
            {
                await socket.CloseOutputAsync(ServiceRestart, "service restart, reconnect", context.RequestAborted);

                // A message the client sent before it read the close cannot be echoed any more (RFC 6455 section 5.5.1):
                // it resends it on its next connection. Wait for its close, bounded.
                using var answer = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                answer.CancelAfter(CloseAnswerTimeout);
                while ((await receiving.WaitAsync(answer.Token)).MessageType != WebSocketMessageType.Close)
                {
                    receiving = socket.ReceiveAsync(buffer.AsMemory(), answer.Token).AsTask();
                }

                return;
            }

            var received = await receiving;
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted);
            inMessage = !received.EndOfMessage;
        }
    }

    /// <summary>
    /// Server-sent events: event N+1, N+2, ... every 100 ms after the Last-Event-ID N the client sends (1 without it). On
    /// drain: a retry hint, and the end of the response, so the client resumes on the new process with no gap.
    /// </summary>
    public static async Task EventsAsync(HttpContext context, IBatonDrainSignal drain)
    {
        var last = long.TryParse(context.Request.Headers["Last-Event-ID"], NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : 0;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, drain.Draining);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (!drain.IsDraining)
            {
                // Written whole (never cancelled by the drain), so the client's Last-Event-ID is the last event it got.
                last++;
                await context.Response.WriteAsync(
                    string.Create(CultureInfo.InvariantCulture, $"id: {last}\ndata: event {last} from process {Environment.ProcessId}\n\n"), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await timer.WaitForNextTickAsync(stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }
        }

        // Over HTTP/1.1 the connection closes after this response, so the client's reconnect opens a new connection,
        // which the new process accepts (over HTTP/2 this sends GOAWAY).
        context.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        await context.Response.WriteAsync("retry: 100\n\n", context.RequestAborted);
    }
}

internal sealed record HelloReply(int Pid, DateTimeOffset Started);

internal static partial class HelloLog
{
    // Tests wait for this line to know a request is in flight, instead of sleeping.
    [LoggerMessage(1, LogLevel.Information, "Slow request started: {Milliseconds} ms in process {Pid}")]
    public static partial void SlowRequestStarted(ILogger logger, int milliseconds, int pid);
}

[JsonSerializable(typeof(HelloReply))]
internal sealed partial class HelloJson : JsonSerializerContext;
