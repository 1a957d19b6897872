using System.Globalization;
using System.Text.RegularExpressions;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>The "Baton" meter in real processes, read by a MeterListener inside the test app (TestApp:Metrics).</summary>
public sealed partial class MetricsTests
{
    [Fact]
    public async Task A_real_handover_is_counted_its_drain_measured_and_each_generation_reports_itself()
    {
        // The keep-alive connection must stay with the process that hands over, to read its drain: with connections that
        // move, it would be answered by the successor.
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp, ["--TestApp:Metrics=true", "--Baton:MoveIdleConnections=false"]);
        var original = server.RootPid;
        var keptAlive = new MiniHttpClient(server.BaseAddress);
        Assert.Equal("baton.drain.connections 0\nbaton.generation 1", await ReadAsync(keptAlive));

        var inFlight = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=3000", closeAfter: true, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));
        var next = await server.RestartAsync(original);

        // The old process, draining, on the connection it still has: two connections open (this one and the slow one).
        // Its "ready after" line comes just before it stops accepting; until it drains it answers without
        // Connection: close, so the same connection reaches it again.
        Assert.Equal("baton.drain.connections 2\nbaton.generation 1", await ReadUntilDrainingAsync(keptAlive));
        keptAlive.Reset();
        await server.WaitForLineAsync(l => l == $"Metric baton.handovers 1 baton.handover.result=ok in process {original}");
        var duration = Seconds(await server.WaitForLineAsync(l => l.StartsWith("Metric baton.handover.duration ", StringComparison.Ordinal) && l.EndsWith($" baton.handover.result=ok in process {original}", StringComparison.Ordinal)));
        Assert.InRange(duration, 0.001, 30);
        Assert.Equal("baton.drain.connections 0\nbaton.generation 2", await ReadAsync(new MiniHttpClient(server.BaseAddress), close: true));

        Assert.Equal(200, (await inFlight).Status);
        var drained = await server.WaitForLineAsync(l => l.StartsWith("Metric baton.drain.duration ", StringComparison.Ordinal));
        Assert.EndsWith($" baton.drain.reason=handover baton.drain.result=drained in process {original}", drained, StringComparison.Ordinal);
        Assert.InRange(Seconds(drained), 0.001, 30);

        server.Signal(next, Posix.SIGTERM);
        var stopped = await server.WaitForLineAsync(l => l.StartsWith("Metric baton.drain.duration ", StringComparison.Ordinal), skip: 1);
        Assert.EndsWith($" baton.drain.reason=stop baton.drain.result=drained in process {next}", stopped, StringComparison.Ordinal);
        await server.WaitForExitAsync(next, TimeSpan.FromSeconds(20));
        Assert.Equal(4, server.CountLines(l => l.StartsWith("Metric ", StringComparison.Ordinal)));
    }

    private static async Task<string> ReadAsync(MiniHttpClient client, bool close = false)
    {
        var (status, body, _) = await client.GetAsync("/metrics", closeAfter: close, CancellationToken.None);
        Assert.Equal(200, status);
        return body;
    }

    private static async Task<string> ReadUntilDrainingAsync(MiniHttpClient client)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var body = await ReadAsync(client);
            if (!body.StartsWith("baton.drain.connections 0\n", StringComparison.Ordinal))
            {
                return body;
            }

            await Task.Delay(20, deadline.Token);
        }
    }

    private static double Seconds(string line) =>
        double.Parse(MetricValueRegex().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^Metric \S+ (\S+)")]
    private static partial Regex MetricValueRegex();
}
