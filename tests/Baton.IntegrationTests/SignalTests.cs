using System.Diagnostics;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>SIGTERM/SIGINT drain, SIGUSR2 hammers a drain, SIGUSR1/SIGTSTP are caught and do nothing.</summary>
public sealed class SignalTests
{
    [Theory]
    [InlineData(Posix.SIGTERM)]
    [InlineData(Posix.SIGINT)]
    public async Task Stop_signal_lets_an_in_flight_request_finish_and_exits_0(int signal)
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var client = new MiniHttpClient(server.BaseAddress);
        var request = client.GetAsync("/slow?ms=1500", closeAfter: false, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));

        server.Signal(server.RootPid, signal);
        await server.WaitForLineAsync(l => l.Contains("stopped accepting", StringComparison.Ordinal));

        // Draining with nobody to take over: new clients are refused at once, not parked in a backlog.
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(
            () => new MiniHttpClient(server.BaseAddress).GetAsync("/", closeAfter: true, CancellationToken.None));
        Assert.False(request.IsCompleted, "the in-flight request is still running while new ones are refused");

        var (status, body, _) = await request;
        Assert.Equal(200, status);
        Assert.Contains($"\"pid\":{server.RootPid}", body, StringComparison.Ordinal);

        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await server.Root.WaitForExitAsync(exit.Token);
        Assert.Equal(0, server.Root.ExitCode);
        Assert.False(File.Exists(server.PidFile), "a process that stops for good removes its own pid file");

        // Not accepting any more: the port refuses.
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(
            () => new MiniHttpClient(server.BaseAddress).GetAsync("/", closeAfter: true, CancellationToken.None));
    }

    [Theory]
    [InlineData(Posix.SIGHUP)]
    [InlineData(Posix.SIGTERM)]
    public async Task Signals_that_keep_coming_while_the_process_exits_never_kill_it(int signal)
    {
        // The last moments of a process, after the host is disposed and before the runtime exits, once had no handler
        // for Baton's signals: their default action (terminate) ended it with 128 + signal and took its last log lines.
        // A SIGHUP loop at an old pid (kill -HUP $(cat pidfile) while the file still names it) hits that window.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var pid = server.RootPid;
        server.Signal(pid, Posix.SIGTERM);
        await server.WaitForLineAsync(l => l.Contains($"Process {pid} exiting", StringComparison.Ordinal));
        var sent = 0;
        while (!server.Root.HasExited && sent < 20_000)
        {
            sent += server.TrySignal(pid, signal) ? 1 : 0;
        }

        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await server.Root.WaitForExitAsync(exit.Token);
        Assert.True(server.Root.ExitCode == 0, $"exit code {server.Root.ExitCode} after {sent} signal(s)\n{server.Log}");
    }

    [Theory]
    [InlineData(Posix.SIGINT)]
    [InlineData(Posix.SIGQUIT)]
    public async Task A_stop_signal_ignored_at_start_as_in_a_background_job_still_drains(int signal)
    {
        // `cmd &` in a script starts the app with SIGINT and SIGQUIT ignored. The runtime decides once whether it
        // handles them; restored too late, the signal's default action killed the process mid-request.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, shellPrefix: "trap '' INT QUIT");
        var client = new MiniHttpClient(server.BaseAddress);
        var request = client.GetAsync("/slow?ms=1500", closeAfter: false, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));

        server.Signal(server.RootPid, signal);
        var (status, _, _) = await request;
        Assert.Equal(200, status);

        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await server.Root.WaitForExitAsync(exit.Token);
        Assert.Equal(0, server.Root.ExitCode);
        Assert.Contains(server.Log.Split('\n'), l => l.Contains("received by process", StringComparison.Ordinal) && l.Contains("graceful shutdown", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sigusr2_during_a_drain_cuts_a_30_s_request_and_the_process_exits_within_2_s()
    {
        await HammerCutsRequestAsync("/slow?ms=30000", checkServingNoOp: true);
    }

    [Fact]
    public async Task Sigusr2_ends_the_process_within_2_s_even_when_a_handler_ignores_cancellation()
    {
        await HammerCutsRequestAsync("/stubborn?ms=30000", checkServingNoOp: false);
    }

    private static async Task HammerCutsRequestAsync(string path, bool checkServingNoOp)
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);

        if (checkServingNoOp)
        {
            // In a serving process, SIGUSR2 is logged and does nothing.
            server.Signal(server.RootPid, Posix.SIGUSR2);
            await server.WaitForLineAsync(l => l.Contains("SIGUSR2 ignored", StringComparison.Ordinal));
            var (status, _, _) = await new MiniHttpClient(server.BaseAddress).GetAsync("/", closeAfter: true, CancellationToken.None);
            Assert.Equal(200, status);
        }

        var client = new MiniHttpClient(server.BaseAddress);
        var request = client.GetAsync(path, closeAfter: false, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));
        server.Signal(server.RootPid, Posix.SIGTERM);
        await server.WaitForLineAsync(l => l.Contains("waiting for 1 connection(s)", StringComparison.Ordinal));

        var hammer = Stopwatch.StartNew();
        server.Signal(server.RootPid, Posix.SIGUSR2);
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await server.Root.WaitForExitAsync(exit.Token);
        hammer.Stop();

        Assert.True(hammer.Elapsed < TimeSpan.FromSeconds(2), $"exited {hammer.ElapsedMilliseconds} ms after SIGUSR2");
        await Assert.ThrowsAnyAsync<Exception>(() => request);
        Assert.Equal(0, server.Root.ExitCode);
    }

    [Fact]
    public async Task Sigusr1_and_sigtstp_are_caught_and_change_nothing()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        server.Signal(server.RootPid, Posix.SIGUSR1);
        server.Signal(server.RootPid, Posix.SIGTSTP);
        await server.WaitForLineAsync(l => l.Contains("SIGUSR1 received", StringComparison.Ordinal) && l.Contains("no action", StringComparison.Ordinal));
        await server.WaitForLineAsync(l => l.Contains("SIGTSTP received", StringComparison.Ordinal) && l.Contains("no action", StringComparison.Ordinal));

        // SIGTSTP must not stop the process: it still answers.
        var (status, body, _) = await new MiniHttpClient(server.BaseAddress).GetAsync("/", closeAfter: true, CancellationToken.None);
        Assert.Equal(200, status);
        Assert.Contains($"\"pid\":{server.RootPid}", body, StringComparison.Ordinal);
        Assert.Equal([server.RootPid], server.AlivePids());
    }

    [Fact]
    public async Task Signals_ignored_at_start_as_under_nohup_still_restart_and_stop()
    {
        // nohup ignores SIGHUP; `cmd &` in a non-interactive shell ignores SIGINT. Both are inherited through exec.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, shellPrefix: "trap '' HUP INT");
        await server.WaitForLineAsync(l => l.Contains("SIGHUP was ignored when process", StringComparison.Ordinal));

        var next = await server.RestartAsync(server.RootPid);
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));

        // The successor starts with default dispositions, so SIGINT reaches it too.
        server.Signal(next, Posix.SIGINT);
        await server.WaitForExitAsync(next, TimeSpan.FromSeconds(20));

        // Waited for, not looked up: the process can be gone before the harness has read the last lines it wrote (its
        // output pipe is read in the background). Looked up once, this failed in a full run.
        await server.WaitForLineAsync(l => l.Contains($"SIGINT received by process {next}", StringComparison.Ordinal));
    }
}
