using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using Baton;
using Microsoft.AspNetCore.Http.Timeouts;

// The integration tests' app for what a sample should not show: an app that stops itself, a hook that throws, standard
// error written every way there is, a helper process started before ready, endpoints with their own timeouts. Each
// behaviour is switched on from the command line (TestApp:...), so one build serves every test.
var builder = WebApplication.CreateSlimBuilder(args);
var settings = builder.Configuration.GetSection("TestApp");
var generation = Environment.GetEnvironmentVariable("BATON_GENERATION") ?? "1";

// A header limit set by the app itself, before UseBaton(): Baton must leave it alone unless Baton:MaxHeaderBytes is set.
if (settings.GetValue<int>("KestrelHeaderLimit") is var headerLimit and > 0)
{
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestHeadersTotalSize = headerLimit);
}

// Microsoft.Extensions.Hosting.Systemd's entry points, before or after UseBaton() (TestApp:Systemd=Add|Use, with
// TestApp:SystemdOrder=before|after). They do anything only when the parent process is named systemd.
var systemd = settings["Systemd"];
var systemdAfter = settings["SystemdOrder"] == "after";
void CallSystemd()
{
    if (systemd == "Add")
    {
        builder.Services.AddSystemd();
    }
    else if (systemd == "Use")
    {
        builder.Host.UseSystemd();
    }
}

if (!systemdAfter)
{
    CallSystemd();
}

builder.UseBaton(options =>
{
    if (settings.GetValue<bool>("BeforeBeginThrows"))
    {
        options.BeforeBegin = _ => throw new InvalidOperationException("the BeforeBegin hook refuses to start");
    }
    else if (settings.GetValue<bool>("BeforeBeginLogsContext"))
    {
        options.BeforeBegin = context => Console.WriteLine(
            $"BeforeBegin: pid {context.ProcessId}, generation {context.Generation}, addresses {string.Join(" ", context.Addresses)}");
    }
});

if (systemdAfter)
{
    CallSystemd();
}

if (settings.GetValue<bool>("UseBatonTwice"))
{
    builder.UseBaton();
}

builder.Services.AddRequestTimeouts();

// A successor that hangs while starting (a slow migration): set in the file after the first process started.
if (settings.GetValue<int>("StartDelayMilliseconds") is var startDelay and > 0)
{
    Thread.Sleep(startDelay);
}

// A helper the app starts before it serves, writing to the standard error it inherits for a while: it must never meet
// a dead pipe after a handover.
if (settings.GetValue<int>("StderrHelperSeconds") is var helperSeconds and > 0)
{
    var helper = Process.Start(new ProcessStartInfo("/bin/sh")
    {
        ArgumentList = { "-c", $"i=0; while [ $i -lt {helperSeconds * 10} ]; do echo \"helper of generation {generation} line $i\" >&2 || exit 9; i=$((i+1)); sleep 0.1; done" },
        UseShellExecute = false,
    })!;
    Console.WriteLine($"Helper {helper.Id} started by generation {generation}");
}

// The "Baton" meter as an exporter would see it: counters and histograms are printed as they are recorded, observable
// instruments are read on GET /metrics.
var metrics = settings.GetValue<bool>("Metrics") ? new MetricsProbe() : null;

// Console.Error used before the process serves, so the runtime holds its own copy of descriptor 2 from here on.
Console.Error.WriteLine($"stderr before serving, generation {generation}, pid {Environment.ProcessId}");

var app = builder.Build();
app.UseRequestTimeouts();

app.MapGet("/", () => Results.Text($"{{\"pid\":{Environment.ProcessId}}}", "application/json"));

app.MapGet("/stderr", (string text) =>
{
    Console.Error.WriteLine($"{text} from pid {Environment.ProcessId}");
    var line = System.Text.Encoding.UTF8.GetBytes($"{text} raw fd 2 from pid {Environment.ProcessId}\n");
    NativeMethods.Write(2, line);
    return Results.Text($"{{\"pid\":{Environment.ProcessId}}}", "application/json");
});

app.MapGet("/slow", async (int? ms, HttpContext context) =>
{
    Console.WriteLine($"Slow request started: {ms ?? 1000} ms in process {Environment.ProcessId}");
    await Task.Delay(ms ?? 1000, context.RequestAborted);
    return Results.Text($"{{\"pid\":{Environment.ProcessId}}}", "application/json");
});

// Exempt from Baton:WriteTimeout by its metadata, as a streaming or WebSocket endpoint would be.
app.MapGet("/unlimited", async (int? ms, HttpContext context) =>
{
    await Task.Delay(ms ?? 1000, context.RequestAborted);
    return Results.Text("unlimited done");
}).DisableRequestTimeout();

// Its own timeout, longer than Baton:WriteTimeout, enforced by the app's UseRequestTimeouts().
app.MapGet("/own-timeout", async (int? ms, HttpContext context) =>
{
    await Task.Delay(ms ?? 1000, context.RequestAborted);
    return Results.Text("own timeout done");
}).WithRequestTimeout(TimeSpan.FromSeconds(30));

app.MapGet("/metrics", () => metrics is null ? Results.NotFound() : Results.Text(metrics.ReadObservable()));

app.MapGet("/stop", (IHostApplicationLifetime lifetime) =>
{
    Console.WriteLine($"StopApplication called in process {Environment.ProcessId}");
    lifetime.StopApplication();
    return Results.Text("stopping");
});

// A WebSocket echo that ignores the drain signal, as an app that never heard of it would: only HammerTime ends it.
app.UseWebSockets();
app.Map("/ws-deaf", async (HttpContext context) =>
{
    using var socket = await context.WebSockets.AcceptWebSocketAsync();
    var buffer = new byte[4096];
    while (true)
    {
        var received = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
        if (received.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
        {
            await socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            return;
        }

        await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, CancellationToken.None);
    }
}).DisableRequestTimeout();

// What a process started by native code (system(), a native library) would see of the environment.
app.MapGet("/native-getenv", (string name) => Results.Text(NativeMethods.GetEnvironment(name) ?? "(unset)"));

app.Run();

internal static partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetEnv(string name);

    [LibraryImport("libc", EntryPoint = "write")]
    private static unsafe partial nint WriteNative(int fd, byte* buffer, nuint count);

    public static string? GetEnvironment(string name) => Marshal.PtrToStringUTF8(GetEnv(name));

    public static unsafe void Write(int fd, byte[] bytes)
    {
        fixed (byte* start = bytes)
        {
            _ = WriteNative(fd, start, (nuint)bytes.Length);
        }
    }
}

/// <summary>Listens to the "Baton" meter: prints each counter and histogram measurement, reads observable ones on demand.</summary>
internal sealed class MetricsProbe
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private List<string>? _observed;

    public MetricsProbe()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Baton")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.SetMeasurementEventCallback<int>(OnMeasurement);
        _listener.SetMeasurementEventCallback<double>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>One line per observable instrument: "name value".</summary>
    public string ReadObservable()
    {
        lock (_gate)
        {
            _observed = [];
            _listener.RecordObservableInstruments();
            var text = string.Join('\n', _observed.Order());
            _observed = null;
            return text;
        }
    }

    private void OnMeasurement<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        var line = string.Join(' ', [$"{instrument.Name} {value}", .. tags.ToArray().Select(t => $"{t.Key}={t.Value}")]);
        lock (_gate)
        {
            if (!instrument.IsObservable)
            {
                Console.WriteLine($"Metric {line} in process {Environment.ProcessId}");
            }
            else
            {
                _observed?.Add(line);
            }
        }
    }
}
