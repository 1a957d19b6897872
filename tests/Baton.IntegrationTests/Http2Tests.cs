using System.Net;
using System.Text.RegularExpressions;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>HTTP/2 has no <c>Connection: close</c>: a draining process sends GOAWAY instead.</summary>
public sealed partial class Http2Tests
{
    [Fact]
    public async Task A_busy_http2_client_is_sent_away_so_the_old_process_drains_fast_and_nothing_fails()
    {
        // Cleartext HTTP/2 (prior knowledge) needs an HTTP/2-only endpoint.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Kestrel:EndpointDefaults:Protocols=Http2"]);
        using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = server.BaseAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };

        var byPid = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 200_000 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    using var response = await client.GetAsync("/", CancellationToken.None);
                    var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    if (response.StatusCode != HttpStatusCode.OK || response.Version != HttpVersion.Version20)
                    {
                        failures.Enqueue($"{(int)response.StatusCode} over HTTP/{response.Version}");
                        continue;
                    }

                    byPid.AddOrUpdate(int.Parse(PidRegex().Match(body).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue(ex.Message);
                }
            }
        })).ToArray();

        try
        {
            await WaitUntilAsync(() => byPid.GetValueOrDefault(server.RootPid) >= 200);
            var next = await server.RestartAsync(server.RootPid);
            await WaitUntilAsync(() => byPid.GetValueOrDefault(next) >= 200);

            // Without GOAWAY the one multiplexed connection stays busy and the old process waits for HammerTime (60 s).
            await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(10));
            Assert.Contains("drain ended: Drained", await server.DrainEndedAsync(server.RootPid), StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        Assert.True(failures.IsEmpty, string.Join("; ", failures.Take(10)));
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

    [GeneratedRegex("\"pid\":(\\d+)")]
    private static partial Regex PidRegex();
}
