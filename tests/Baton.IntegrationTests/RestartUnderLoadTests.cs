using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>SIGHUP under real load: every request answered, a new pid each time, every old pid gone.</summary>
public sealed class RestartUnderLoadTests
{
    private const int Restarts = 5;

    [Theory]
    [InlineData(ConnectionMode.NewConnectionPerRequest)]
    [InlineData(ConnectionMode.KeepAlive)]
    public async Task Five_sighups_under_load_fail_no_request(ConnectionMode mode)
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var load = new LoadGenerator(new Uri(server.BaseAddress, "/"), mode, workers: 16);
        load.Start();
        var serving = server.RootPid;
        var generations = new List<int> { serving };
        for (var i = 0; i < Restarts; i++)
        {
            await load.WaitForServedByAsync(serving);
            var next = await server.RestartAsync(serving);
            Assert.DoesNotContain(next, generations);
            generations.Add(next);
            serving = next;
        }

        await load.WaitForServedByAsync(serving);
        var result = await load.StopAsync();
        foreach (var old in generations.SkipLast(1))
        {
            await server.WaitForExitAsync(old, TimeSpan.FromSeconds(20));
        }

        Assert.True(result.Failed == 0, result.ToString());
        Assert.Equal([serving], server.AlivePids());
        Assert.Equal(serving, server.ReadPidFile());

        // Every generation served part of the load (waited for above): the handover happened under traffic, not around
        // it. Nothing but these generations answered.
        Assert.Equal(generations.Order(), result.RequestsByPid.Keys.Order());
        Assert.Equal(0, server.Root.ExitCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Twenty_sighups_in_200_ms_end_with_exactly_one_serving_process(bool toPidFile)
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var load = new LoadGenerator(new Uri(server.BaseAddress, "/"), ConnectionMode.KeepAlive, workers: 8);
        load.Start();
        await load.WaitForProgressAsync();

        // Either all to the first pid (one handover; the rest are ignored while it hands over or drains), or each to
        // whatever the pid file names at that moment (as `kill -HUP $(cat app.pid)` in a loop would: each new process
        // defers them until its predecessor has exited, then hands over once for all of them).
        var first = server.RootPid;
        var sent = 0;
        for (var i = 0; i < 20; i++)
        {
            sent += server.TrySignal(toPidFile ? server.ReadPidFile() : first, Posix.SIGHUP) ? 1 : 0;

            // The first two back to back: at least two reach the first process even when this test's own threads wake
            // late (on a busy machine one 10 ms delay once outlasted the whole handover, and only one SIGHUP was sent).
            if (i > 0)
            {
                await Task.Delay(10);
            }
        }

        await server.WaitForExitAsync(first, TimeSpan.FromSeconds(30));
        var handovers = await server.WaitUntilSettledAsync();
        await load.WaitForProgressAsync();
        var result = await load.StopAsync();

        Assert.True(result.Failed == 0, result.ToString());
        Assert.DoesNotContain("ended abnormally", server.Log, StringComparison.Ordinal);
        Assert.True(sent >= 1, "no SIGHUP was delivered");
        var alive = server.AlivePids();
        Assert.True(alive.Count == 1, $"alive {string.Join(",", alive)}; {server.SettledAs}");
        Assert.Equal(alive[0], server.ReadPidFile());
        if (!toPidFile)
        {
            Assert.Equal(1, handovers);
        }

        Assert.True(handovers >= 1 && handovers < sent, $"{handovers} handovers for {sent} SIGHUPs");
    }

    [Fact]
    public async Task Large_responses_survive_handovers_and_are_never_reset()
    {
        // Kestrel's stop sets SO_LINGER {on, 0} on the listener it closes; on a shared socket that would make every
        // close in the successor a reset and cut big responses short. Several handovers, then big Connection: close
        // downloads from the latest generation, one of them in flight across a handover.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var serving = server.RootPid;
        for (var i = 0; i < 2; i++)
        {
            var previous = serving;
            serving = await server.RestartAsync(serving);

            // Gone before the download starts, so the download lands on the serving process. (A download held open
            // in a draining process would defer the next SIGHUP until it ends - and this one waits for that SIGHUP.)
            await server.WaitForExitAsync(previous, TimeSpan.FromSeconds(30));
        }

        // The download is paused after its first MiB until the handover is done: it is in flight, in the old process,
        // from before the SIGHUP until after the new process took over.
        const long size = 16L * 1024 * 1024;
        var firstMiB = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = DownloadAsync(server, closeAfter: false, async read =>
        {
            if (read >= 1024 * 1024 && firstMiB.TrySetResult())
            {
                await resume.Task;
            }
        });
        await firstMiB.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var old = serving;
        serving = await server.RestartAsync(serving);
        await server.WaitForLineAsync(l => l.Contains($"Process {old} waiting for 1 connection(s) to finish", StringComparison.Ordinal));
        Assert.False(inFlight.IsCompleted);
        resume.SetResult();
        Assert.Equal(size, await inFlight);

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(size, await DownloadAsync(server, closeAfter: true));
        }
    }

    private static async Task<long> DownloadAsync(ServerProcess server, bool closeAfter, Func<long, Task>? progress = null)
    {
        var client = new MiniHttpClient(server.BaseAddress) { BodyProgress = progress };
        try
        {
            var (status, _, length) = await client.GetAsync("/big?kb=16384", closeAfter, CancellationToken.None, keepBody: false);
            Assert.Equal(200, status);
            return length;
        }
        finally
        {
            client.Reset();
        }
    }
}
