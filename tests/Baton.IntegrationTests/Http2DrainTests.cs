using System.Diagnostics;
using System.Globalization;
using System.Net;
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
/// h2load (nghttp2-client) does not reconnect an HTTP/2 connection that the server sent away (nghttp2/nghttp2#1197:
/// "h2load does not reconnect h2 connection. It does for h1"), so a run with -n ends at the SIGHUP and counts the
/// requests it never sent as failed: one run per SIGHUP, asserting that every stream it started was answered with 200
/// (none refused, none reset) and the rest never left h2load. h2load opens a stream only when another ends, so it
/// rarely has one on the wire when a server closes: these runs passed on Kestrel's close alone too. The
/// <see cref="RawHttp2Client"/> tests open streams on a clock behind a 50 ms lag, and do fail without the round trip.
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
                output.WriteLine($"run {run} ({serving} -> {next}): {result.Line} | {result.Status}");
                if (result.Started != result.Succeeded)
                {
                    // h2load's own report says whether streams were refused (failed) or lost with their connection
                    // (errored), and names the connection errors it met.
                    output.WriteLine(result.Report);
                }
                await server.WaitForExitAsync(serving, TimeSpan.FromSeconds(30));
                foreach (var line in server.Log.Split('\n').Where(l => l.Contains($"{serving}", StringComparison.Ordinal) && l.Contains("Baton[", StringComparison.Ordinal)))
                {
                    output.WriteLine(line);
                }

                Assert.Equal(result.Started, result.Succeeded);
                Assert.Equal(result.Started, result.Done);
                Assert.Equal(result.Started, result.Ok2xx);
                Assert.Equal(Requests - result.Started, result.Failed);
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

    /// <summary>Starts h2load (8 connections x 8 streams); the second task completes once 10% of the requests are done.</summary>
    private static async Task<(H2LoadRun Report, Task Started)> StartH2LoadAsync(string url)
    {
        var start = new ProcessStartInfo("h2load")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-n", Requests.ToString(CultureInfo.InvariantCulture), "-c", "8", "-m", "8", url })
        {
            start.ArgumentList.Add(argument);
        }

        var run = new H2LoadRun(Process.Start(start)!);
        await Task.Yield();
        return (run, run.Progress10);
    }

    private sealed partial class H2LoadRun : IDisposable
    {
        private readonly Process _process;
        private readonly TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<string> _lines = [];
        private readonly Task _reading;

        public H2LoadRun(Process process)
        {
            _process = process;
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

            return new Result(line, status, report, At(1), At(2), At(3), At(4), At(5), int.Parse(StatusRegex().Match(status).Groups[1].Value, CultureInfo.InvariantCulture));
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }

            _process.Dispose();
        }

        [GeneratedRegex(@"requests: \d+ total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored")]
        private static partial Regex RequestsRegex();

        [GeneratedRegex(@"status codes: (\d+) 2xx")]
        private static partial Regex StatusRegex();
    }

    private sealed record Result(string Line, string Status, string Report, int Started, int Done, int Succeeded, int Failed, int Errored, int Ok2xx);
}
