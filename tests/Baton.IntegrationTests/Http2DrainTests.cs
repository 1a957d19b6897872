using System.Diagnostics;
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Baton.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Baton.IntegrationTests;

/// <summary>
/// HTTP/2 clients that never retry, against a draining process, over h2c and TLS, across 3 SIGHUPs.
/// </summary>
/// <remarks>
/// <para>
/// h2load (nghttp2-client) does not reconnect an HTTP/2 connection that the server sent away (nghttp2/nghttp2#1197:
/// "h2load does not reconnect h2 connection. It does for h1"), so a run with -n ends at the SIGHUP and counts the
/// requests it never sent as failed: one run per SIGHUP, asserting that every request h2load sent was answered with 200
/// (none refused, none reset) and the rest never left h2load. h2load opens a stream only when another ends, so it
/// rarely has one on the wire when a server closes: these runs passed on Kestrel's close alone too. The
/// <see cref="RawHttp2Client"/> tests open streams on a clock behind a 50 ms lag, and do fail without the round trip.
/// </para>
/// <para>
/// "Sent" comes from h2load's per-request log (<c>--log-file</c>), not from its "started" count: when one read brings
/// the last answers of a batch and the GOAWAY behind them, h2load queues the next batch for the answered streams before
/// it reaches the GOAWAY, then never sends it and counts it as started and failed. Those requests never reach a server,
/// whatever the server does; the log shows them with a start time of 0. See
/// <see cref="H2load_counts_requests_it_queued_but_never_sent_after_a_goaway_as_started_and_failed"/>.
/// </para>
/// </remarks>
public sealed partial class Http2DrainTests(ITestOutputHelper output)
{
    private const int Requests = 4_000;
    private static readonly TimeSpan Lag = TimeSpan.FromMilliseconds(200);

    [Fact]
    public Task No_stream_h2load_opened_over_h2c_is_refused_across_three_sighups() =>
        RunAsync(["--Kestrel:EndpointDefaults:Protocols=Http2"], prepare: null, scheme: "http");

    [Fact]
    public Task No_stream_h2load_opened_over_tls_is_refused_across_three_sighups() =>
        RunAsync(
            ["--urls", "https://127.0.0.1:0", "--Kestrel:Certificates:Default:Path=cert.pfx", "--Kestrel:Certificates:Default:Password=baton"],
            prepare: WriteSelfSignedCertificateAsync,
            scheme: "https");

    [Fact]
    public Task No_stream_a_client_opened_before_it_read_the_goaway_is_refused_over_h2c() =>
        RunRawAsync(["--Kestrel:EndpointDefaults:Protocols=Http2"], prepare: null, tls: false);

    [Fact]
    public Task No_stream_a_client_opened_before_it_read_the_goaway_is_refused_over_tls() =>
        RunRawAsync(
            ["--urls", "https://127.0.0.1:0", "--Kestrel:Certificates:Default:Path=cert.pfx", "--Kestrel:Certificates:Default:Password=baton"],
            prepare: WriteSelfSignedCertificateAsync,
            tls: true);

    /// <summary>
    /// Why the h2load runs count "sent" from h2load's per-request log. A scripted server (no Baton, no Kestrel) answers
    /// h2load's third batch of 8 requests and, in the same write, sends GOAWAY(2^31-1) and a PING, as a draining process
    /// may. h2load reads it all at once: it queues 8 new requests for the 8 answered streams, then reads the GOAWAY and
    /// never sends them, yet counts them as started and failed. The server receives no request after its GOAWAY; the
    /// log shows the 8 with a start time of 0.
    /// </summary>
    [Fact]
    public async Task H2load_counts_requests_it_queued_but_never_sent_after_a_goaway_as_started_and_failed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = ServeThreeBatchesThenGoAwayAsync(listener);
        var (report, _) = await StartH2LoadAsync($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/", requests: 1_000, connections: 1);
        using (report)
        {
            var result = await report.WaitAsync(TimeSpan.FromSeconds(30));
            var (answered, receivedAfterGoAway) = await serving.WaitAsync(TimeSpan.FromSeconds(30));
            output.WriteLine($"{result.Line} | sent {result.Sent}, never sent {result.NeverSent}; the server answered {answered}, received {receivedAfterGoAway} after its GOAWAY");

            Assert.Equal(0, receivedAfterGoAway);
            Assert.Equal(24, answered);
            Assert.Equal(32, result.Started);
            Assert.Equal(24, result.Succeeded);
            Assert.Equal(24, result.Sent);
            Assert.Equal(24, result.SentAnswered200);
            Assert.Equal(8, result.NeverSent);
        }
    }

    /// <summary>One HTTP/2 connection: answers each batch of 8 requests in one write, the third followed by GOAWAY and PING.</summary>
    private static async Task<(int Answered, int ReceivedAfterGoAway)> ServeThreeBatchesThenGoAwayAsync(TcpListener listener)
    {
        using var socket = await listener.AcceptSocketAsync();
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.ReadExactlyAsync(new byte[24]); // the client preface
        await stream.WriteAsync(Http2FrameBytes.Frame(0x4, 0, 0, []));
        var (pending, batches, answered, afterGoAway, highest) = (new List<int>(), 0, 0, 0, 0);
        var header = new byte[9];
        while (true)
        {
            await stream.ReadExactlyAsync(header);
            var payload = new byte[(header[0] << 16) | (header[1] << 8) | header[2]];
            await stream.ReadExactlyAsync(payload);
            var (type, flags, id) = (header[3], header[4], BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue);
            if (type == 0x4 && (flags & 0x1) == 0)
            {
                await stream.WriteAsync(Http2FrameBytes.Frame(0x4, 0x1, 0, []));
            }
            else if (type == 0x1)
            {
                highest = Math.Max(highest, id);
                afterGoAway += batches >= 3 ? 1 : 0;
                pending.Add(id);
                if (pending.Count == 8 || batches >= 3)
                {
                    // HEADERS with END_STREAM | END_HEADERS and ":status: 200" (HPACK static table entry 8).
                    var write = pending.SelectMany(streamId => Http2FrameBytes.Frame(0x1, 0x5, streamId, [0x88])).ToList();
                    answered += pending.Count;
                    pending.Clear();
                    if (++batches == 3)
                    {
                        write.AddRange(Http2FrameBytes.GoAway(int.MaxValue));
                        write.AddRange(Http2FrameBytes.Frame(0x6, 0, 0, "goaway-1"u8));
                    }

                    await stream.WriteAsync(write.ToArray());
                }
            }
            else if (type == 0x6 && (flags & 0x1) != 0)
            {
                // The PING's answer: every request the client sent before it read the GOAWAY is here. The final GOAWAY.
                await stream.WriteAsync(Http2FrameBytes.GoAway(highest));
                break;
            }
        }

        // Until h2load closes (it does once its streams are done): nothing it sends is left unread.
        while (await stream.ReadAsync(new byte[4096]) > 0)
        {
        }

        return (answered, afterGoAway);
    }

    /// <summary>
    /// 8 connections, each opening a stream every 2 ms whatever the answers do, through a 50 ms lag: when a draining
    /// process sends GOAWAY, each client has about 25 streams on the way that it opened before reading it. Across 3
    /// SIGHUPs every stream is answered, none refused or failed, and every connection moved.
    /// </summary>
    private async Task RunRawAsync(string[] arguments, Func<string, Task>? prepare, bool tls)
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, arguments, prepare: prepare);
        await using var proxy = new LaggingProxy(() => server.Port, TimeSpan.FromMilliseconds(50));
        var client = new RawHttp2Client(proxy.Port, tls);
        using var stop = new CancellationTokenSource();
        var load = client.RunAsync(connections: 8, TimeSpan.FromMilliseconds(2), stop.Token);
        var serving = server.RootPid;
        try
        {
            for (var restart = 1; restart <= 3; restart++)
            {
                var answered = client.Answered;
                await WaitUntilAsync(() => client.Answered >= answered + 500 || load.IsCompleted);
                var next = await server.RestartAsync(serving);
                await server.WaitForExitAsync(serving, TimeSpan.FromSeconds(30));
                Assert.Contains("drain ended: Drained", await server.DrainEndedAsync(serving), StringComparison.Ordinal);
                serving = next;
            }

            var before = client.Answered;
            await WaitUntilAsync(() => client.Answered >= before + 500 || load.IsCompleted);
        }
        finally
        {
            await stop.CancelAsync();
            await load.WaitAsync(TimeSpan.FromSeconds(60));
        }

        output.WriteLine($"{client.Opened} opened, {client.Answered} answered, {client.Refused} refused, {client.Failed} failed, {client.Connections} connections");
        Assert.Equal(0, client.Refused);
        Assert.Equal(0, client.Failed);
        Assert.Equal(client.Opened, client.Answered);
        Assert.True(client.Connections >= 8 * 4, $"{client.Connections} connections: not every client moved at every SIGHUP");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    private async Task RunAsync(string[] arguments, Func<string, Task>? prepare, string scheme)
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, arguments, prepare: prepare);
        Assert.Equal(scheme, server.BaseAddress.Scheme);
        await using var proxy = new LaggingProxy(() => server.Port, Lag);
        var serving = server.RootPid;
        for (var run = 1; run <= 3; run++)
        {
            var (report, started) = await StartH2LoadAsync($"{scheme}://127.0.0.1:{proxy.Port}/");
            using (report)
            {
                // Streams in flight on every connection when the drain starts.
                await started;
                var next = await server.RestartAsync(serving);
                var result = await report.WaitAsync(TimeSpan.FromSeconds(120));
                output.WriteLine($"run {run} ({serving} -> {next}): {result.Line} | {result.Status} | sent {result.Sent}, queued but never sent {result.NeverSent}");
                if (result.Sent != result.Succeeded)
                {
                    // h2load's own report names the connection errors it met.
                    output.WriteLine(result.Report);
                }
                await server.WaitForExitAsync(serving, TimeSpan.FromSeconds(30));
                foreach (var line in server.Log.Split('\n').Where(l => l.Contains($"{serving}", StringComparison.Ordinal) && l.Contains("Baton[", StringComparison.Ordinal)))
                {
                    output.WriteLine(line);
                }

                // Every request that left h2load was answered with 200: none refused, none reset, none lost.
                Assert.Equal(result.Sent, result.SentAnswered200);
                Assert.Equal(result.Sent, result.Succeeded);
                Assert.Equal(result.Sent, result.Ok2xx);
                Assert.Equal(result.Started, result.Done);
                Assert.Equal(result.Started, result.Sent + result.NeverSent);
                Assert.Equal(Requests - result.Sent, result.Failed);

                // What h2load queued and never sent: at most one batch (8 streams) per connection, those it queued in
                // the read that brought the GOAWAY.
                Assert.InRange(result.NeverSent, 0, 8 * 8);
                Assert.True(result.Started < Requests, "the connections were never sent away");
                Assert.Contains(server.Log.Split('\n'), l => l.Contains($"Process {serving} drain ended: Drained", StringComparison.Ordinal));
                serving = next;
            }
        }
    }

    private static Task WriteSelfSignedCertificateAsync(string directory)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return File.WriteAllBytesAsync(Path.Combine(directory, "cert.pfx"), certificate.Export(X509ContentType.Pfx, "baton"));
    }

    /// <summary>
    /// Starts h2load (<paramref name="requests"/> requests, 8 connections x 8 streams unless told otherwise); the second
    /// task completes once 10% of the requests are done.
    /// </summary>
    private static async Task<(H2LoadRun Report, Task Started)> StartH2LoadAsync(string url, int requests = Requests, int connections = 8)
    {
        var start = new ProcessStartInfo("h2load")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var log = Path.Combine(Path.GetTempPath(), $"baton-h2load-{Guid.NewGuid():N}.tsv");
        string[] arguments =
        [
            "-n", requests.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture), "-m", "8",
            "--log-file", log, url,
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var run = new H2LoadRun(Process.Start(start)!, log);
        await Task.Yield();
        return (run, run.Progress10);
    }

    private sealed partial class H2LoadRun : IDisposable
    {
        private readonly Process _process;
        private readonly string _log;
        private readonly TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<string> _lines = [];
        private readonly Task _reading;

        public H2LoadRun(Process process, string log)
        {
            _process = process;
            _log = log;
            _reading = Task.WhenAll(ReadAsync(process.StandardOutput), ReadAsync(process.StandardError));
        }

        public Task Progress10 => _progress.Task;

        private async Task ReadAsync(StreamReader reader)
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                lock (_lines)
                {
                    _lines.Add(line);
                }

                if (line.StartsWith("progress: 10% done", StringComparison.Ordinal))
                {
                    _progress.TrySetResult();
                }
            }

            _progress.TrySetException(new InvalidOperationException("h2load ended before 10% of its requests: " + string.Join('\n', _lines)));
        }

        public async Task<Result> WaitAsync(TimeSpan timeout)
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
            await _reading;
            var line = _lines.Single(l => l.StartsWith("requests:", StringComparison.Ordinal));
            var status = _lines.Single(l => l.StartsWith("status codes:", StringComparison.Ordinal));
            var m = RequestsRegex().Match(line);
            Assert.True(m.Success, line);
            int At(int group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
            string report;
            lock (_lines)
            {
                report = string.Join('\n', _lines.Where(l => !l.StartsWith("progress:", StringComparison.Ordinal)));
            }

            // One line per stream h2load started, when it closed: "start time (us since the epoch), status, duration".
            // A request whose HEADERS never left h2load has start time 0 (it is stamped as the frame is sent) and
            // status -1.
            var (sent, answered200, neverSent) = (0, 0, 0);
            foreach (var entry in await File.ReadAllLinesAsync(_log))
            {
                var columns = entry.Split('\t');
                Assert.True(columns.Length == 3, $"unexpected h2load log line: {entry}");
                if (columns[0] == "0")
                {
                    neverSent++;
                    continue;
                }

                sent++;
                answered200 += columns[1] == "200" ? 1 : 0;
            }

            return new Result(
                line, status, report, At(1), At(2), At(3), At(4), At(5),
                int.Parse(StatusRegex().Match(status).Groups[1].Value, CultureInfo.InvariantCulture), sent, answered200, neverSent);
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            _process.Dispose();
            File.Delete(_log);
        }

        [GeneratedRegex(@"requests: \d+ total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored")]
        private static partial Regex RequestsRegex();

        [GeneratedRegex(@"status codes: (\d+) 2xx")]
        private static partial Regex StatusRegex();
    }

    private sealed record Result(
        string Line, string Status, string Report, int Started, int Done, int Succeeded, int Failed, int Errored, int Ok2xx,
        int Sent, int SentAnswered200, int NeverSent);
}
