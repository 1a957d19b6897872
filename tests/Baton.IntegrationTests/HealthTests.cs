using System.Diagnostics;
using System.Net.Sockets;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>/health/ready and /health/live of samples/Hello through a stop with DrainDelay and through a handover.</summary>
public sealed class HealthTests
{
    [Fact]
    public async Task Sigterm_with_DrainDelay_answers_unready_at_once_serves_new_connections_for_the_delay_then_closes_and_finishes_in_flight()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Baton:DrainDelay=00:00:02"]);
        Assert.Equal((200, "Healthy"), await GetAsync(server, "/health/ready"));
        Assert.Equal((200, "Healthy"), await GetAsync(server, "/health/live"));
        var inFlight = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=5000", closeAfter: false, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));

        var clock = Stopwatch.StartNew();
        server.Signal(server.RootPid, Posix.SIGTERM);
        await server.WaitForLineAsync(l => l.Contains("is no longer ready and still accepts for 2000 ms", StringComparison.Ordinal));

        // Unready, alive, and still serving new connections: a load balancer takes it out before anyone is refused.
        Assert.Equal((503, "Unhealthy"), await GetAsync(server, "/health/ready"));
        Assert.Equal((200, "Healthy"), await GetAsync(server, "/health/live"));
        var (status, body) = await GetAsync(server, "/");
        Assert.Equal(200, status);
        Assert.Contains($"\"pid\":{server.RootPid}", body, StringComparison.Ordinal);
        Assert.Equal(0, server.CountLines(l => l.Contains("stopped accepting", StringComparison.Ordinal)));

        // Then the listener closes: new clients are refused while the request in flight runs on.
        await server.WaitForLineAsync(l => l.Contains("stopped accepting", StringComparison.Ordinal));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"stopped accepting {clock.ElapsedMilliseconds} ms after SIGTERM");
        Assert.False(inFlight.IsCompleted, "the request in flight still runs when the listener closes");
        await Assert.ThrowsAnyAsync<SocketException>(() => GetAsync(server, "/health/ready"));

        (status, body, _) = await inFlight;
        Assert.Equal(200, status);
        Assert.Contains($"\"pid\":{server.RootPid}", body, StringComparison.Ordinal);
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await server.Root.WaitForExitAsync(exit.Token);
        Assert.Equal(0, server.Root.ExitCode);
    }

    [Fact]
    public async Task Readiness_stays_200_through_a_handover_while_the_successor_starts_and_from_the_process_that_handed_over()
    {
        // The keep-alive connection must stay with the process that hands over: with connections that move, it would
        // be answered by the successor.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Baton:MoveIdleConnections=false"]);
        var original = server.RootPid;
        var keptAlive = new MiniHttpClient(server.BaseAddress);
        var (status, body, _) = await keptAlive.GetAsync("/", closeAfter: false, CancellationToken.None);
        Assert.Equal(200, status);
        Assert.Contains($"\"pid\":{original}", body, StringComparison.Ordinal);

        // A request in flight keeps the old process draining (and its idle keep-alive connection open) after it hands
        // over; a successor that takes 1.5 s to start keeps it handing over for that long.
        var inFlight = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=8000", closeAfter: false, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));
        await server.DelayNextStartAsync(1500);

        server.Signal(original, Posix.SIGHUP);
        var next = await server.WaitForSuccessorStartedAsync();
        Assert.Equal((200, "Healthy"), await GetAsync(server, "/health/ready"));
        Assert.Equal(0, server.CountLines(l => l.Contains("ready after", StringComparison.Ordinal)));

        await server.WaitForLineAsync(l => l.Contains($"New process {next} (generation 2) ready after", StringComparison.Ordinal));
        (status, body, _) = await keptAlive.GetAsync("/health/ready", closeAfter: false, CancellationToken.None);
        Assert.Equal((200, "Healthy"), (status, body));
        Assert.True(Posix.IsAlive(original), "the old process, draining, answered on its keep-alive connection");

        // Once the old process stopped accepting, new connections reach the successor only.
        await server.WaitForLineAsync(l => l.Contains($"Process {original} stopped accepting", StringComparison.Ordinal));
        Assert.Equal((200, "Healthy"), await GetAsync(server, "/health/ready"));
        (status, body) = await GetAsync(server, "/");
        Assert.Contains($"\"pid\":{next}", body, StringComparison.Ordinal);

        Assert.Equal(200, (await inFlight).Status);
        Assert.Equal(1, await server.WaitUntilSettledAsync());
    }

    /// <summary>One request on a new connection.</summary>
    private static async Task<(int Status, string Body)> GetAsync(ServerProcess server, string path)
    {
        var (status, body, _) = await new MiniHttpClient(server.BaseAddress).GetAsync(path, closeAfter: true, CancellationToken.None);
        return (status, body);
    }
}
