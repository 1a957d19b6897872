using System.Diagnostics;
using System.Globalization;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>The edges of a handover: a pid file that cannot be written, SIGHUP chains, stops and deaths at odd moments.</summary>
public sealed class HandoverEdgeTests
{
    [Fact]
    public async Task A_pid_file_directory_that_disappears_fails_the_sighup_cleanly_and_the_old_process_serves_on()
    {
        var directory = Directory.CreateTempSubdirectory("baton-run-").FullName;
        var pidFile = Path.Combine(directory, "app.pid");
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Baton:PidFile=" + pidFile]);
        Assert.Equal(server.RootPid.ToString(CultureInfo.InvariantCulture), File.ReadAllText(pidFile).Trim());
        Directory.Delete(directory, recursive: true);

        server.Signal(server.RootPid, Posix.SIGHUP);
        var failure = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal));
        Assert.Contains($"Baton:PidFile '{pidFile}': directory '{directory}' does not exist.", failure, StringComparison.Ordinal);

        await server.AssertOnlyServerAsync(server.RootPid);
    }

    [Fact]
    public async Task A_successor_that_cannot_write_the_pid_file_does_not_report_ready_and_leaves_no_temporary_file()
    {
        // The directory is there and writable (the start-up check passes), but the pid file's own path is a directory
        // now: the successor's atomic rename onto it fails.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        File.Delete(server.PidFile);
        Directory.CreateDirectory(server.PidFile);

        server.Signal(server.RootPid, Posix.SIGHUP);
        var failure = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal));
        Assert.Contains("failed to start: System.IO.IOException", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Log.Split('\n'), l => l.Contains("ready after", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(server.WorkDirectory, ".app.pid.*"));

        await server.AssertOnlyServerAsync(server.RootPid);
    }

    [Fact]
    public async Task A_sighup_every_300_ms_while_10_s_requests_run_never_has_more_than_two_server_processes()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        using var stop = new CancellationTokenSource();

        // Three clients that always have a 10 s request in flight, each on a new connection.
        var failures = 0;
        var completed = 0;
        var clients = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var (status, _, _) = await new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=10000", closeAfter: true, CancellationToken.None);
                    Interlocked.Increment(ref status == 200 ? ref completed : ref failures);
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToList();

        // Wait for all three to be in flight in the first process, then SIGHUP its pid file 20 times, 300 ms apart.
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal), skip: 2);
        var most = 0;
        var sent = 0;
        var clock = Stopwatch.StartNew();
        // A count, not a time: on a loaded machine each round takes longer than 300 ms, and fewer SIGHUPs would be sent.
        while (sent < 20)
        {
            server.TrySignal(server.ReadPidFile(), Posix.SIGHUP);
            sent++;
            var next = clock.Elapsed + TimeSpan.FromMilliseconds(300);
            while (clock.Elapsed < next)
            {
                most = Math.Max(most, server.AlivePids().Count);
                await Task.Delay(20);
            }
        }

        // Keep watching while the deferred restarts play out, then let the clients finish what they have.
        await stop.CancelAsync();
        var watchUntil = clock.Elapsed + TimeSpan.FromSeconds(12);
        while (clock.Elapsed < watchUntil)
        {
            most = Math.Max(most, server.AlivePids().Count);
            await Task.Delay(20);
        }

        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(30));
        await server.WaitUntilSettledAsync(TimeSpan.FromSeconds(60));

        Assert.True(most <= 2, $"{most} server processes alive at once");
        Assert.Equal(0, failures);
        Assert.True(completed >= 3, $"{completed} requests completed");
        Assert.Contains(server.Log.Split('\n'), l => l.Contains("SIGHUP deferred by process", StringComparison.Ordinal)
            && l.Contains("still drains", StringComparison.Ordinal) && l.Contains("connection(s) open", StringComparison.Ordinal));
        Assert.Contains(server.Log.Split('\n'), l => l.Contains("starts the deferred restart", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sigterm_during_a_handover_kills_the_starting_process_within_a_second_and_the_old_one_drains()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        await server.DelayNextStartAsync(20_000);
        var request = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=1500", closeAfter: true, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));

        server.Signal(server.RootPid, Posix.SIGHUP);
        var child = await server.WaitForSuccessorStartedAsync();
        var clock = Stopwatch.StartNew();
        server.Signal(server.RootPid, Posix.SIGTERM);
        while (Directory.Exists($"/proc/{child}"))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"new process {child} still there (or not reaped) {clock.ElapsedMilliseconds} ms after SIGTERM");
            await Task.Delay(10);
        }

        var failure = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal));
        Assert.Contains("abandoned", failure, StringComparison.Ordinal);
        Assert.Equal(200, (await request).Status);
        Assert.Equal(0, await server.WaitForRootExitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Sigusr2_during_a_handover_abandons_it_and_the_old_process_serves_on()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        await server.DelayNextStartAsync(20_000);
        server.Signal(server.RootPid, Posix.SIGHUP);
        await server.WaitForSuccessorStartedAsync();
        server.Signal(server.RootPid, Posix.SIGUSR2);

        var failure = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal), TimeSpan.FromSeconds(2));
        Assert.Contains("abandoned", failure, StringComparison.Ordinal);
        await server.AssertOnlyServerAsync(server.RootPid);
    }

    [Fact]
    public async Task A_successor_that_dies_after_taking_over_is_reaped_and_reported_by_the_draining_process()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var request = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=3000", closeAfter: true, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));
        var next = await server.RestartAsync(server.RootPid);

        server.Signal(next, Posix.SIGKILL);
        var report = await server.WaitForLineAsync(l => l.Contains($"New process {next} was killed by signal 9 (SIGKILL) while process {server.RootPid} drains", StringComparison.Ordinal));
        Assert.Contains("nothing accepts", report, StringComparison.Ordinal);
        Assert.False(Directory.Exists($"/proc/{next}"), "the dead successor is reaped by the process that started it, not left a zombie");
        Assert.Equal(200, (await request).Status);
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await server.Root.WaitForExitAsync(exit.Token);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public async Task A_standard_descriptor_closed_at_start_is_dev_null_in_the_successor_not_the_runtimes_own_pipe(int closed)
    {
        // The log goes to whichever of standard output and error stays open, so the test can read it.
        string[] logging = closed == 1 ? ["--Logging:Console:LogToStandardErrorThreshold=Trace"] : [];
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, logging, shellPrefix: $"exec {closed}>&-");
        Assert.Contains(server.Log.Split('\n'), l => l.Contains($"was started with standard descriptor(s) {closed} closed", StringComparison.Ordinal));

        var next = await server.RestartAsync(server.RootPid);
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));
        Assert.Equal("/dev/null", new FileInfo($"/proc/{next}/fd/{closed}").LinkTarget);
        var (status, body, _) = await new MiniHttpClient(server.BaseAddress).GetAsync("/", closeAfter: true, CancellationToken.None);
        Assert.Equal(200, status);
        Assert.Contains($"\"pid\":{next}", body, StringComparison.Ordinal);
    }
}
