using System.Globalization;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>What the app itself does to its lifecycle: stops itself, hooks the start, calls UseBaton twice.</summary>
public sealed class AppLifecycleTests
{
    [Fact]
    public async Task StopApplication_from_app_code_drains_like_sigterm_and_removes_the_pid_file()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp);
        var request = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=1500", closeAfter: true, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));

        var (status, _, _) = await new MiniHttpClient(server.BaseAddress).GetAsync("/stop", closeAfter: true, CancellationToken.None);
        Assert.Equal(200, status);
        await server.WaitForLineAsync(l => l.Contains("StopApplication() received by process", StringComparison.Ordinal) && l.Contains("graceful shutdown", StringComparison.Ordinal));
        Assert.False(request.IsCompleted, "the in-flight request runs on while the process drains");

        Assert.Equal(200, (await request).Status);
        Assert.Equal(0, await server.WaitForRootExitAsync(TimeSpan.FromSeconds(20)));
        Assert.False(File.Exists(server.PidFile), "the pid file is removed, as on SIGTERM");
        Assert.Contains(server.Log.Split('\n'), l => l.Contains("drain ended: Drained", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopApplication_in_a_process_draining_after_a_handover_leaves_the_successors_sockets_alone()
    {
        // The keep-alive connection must stay with the process that hands over: with connections that move, "/stop"
        // would reach the successor.
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp, ["--Baton:MoveIdleConnections=false"]);

        // A keep-alive connection to the first process, and a request in flight on another one.
        var toOld = new MiniHttpClient(server.BaseAddress);
        Assert.Contains($"\"pid\":{server.RootPid}", (await toOld.GetAsync("/", closeAfter: false, CancellationToken.None)).Body, StringComparison.Ordinal);
        var inFlight = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=2000", closeAfter: true, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));

        var next = await server.RestartAsync(server.RootPid);
        await server.WaitForLineAsync(l => l.Contains($"Process {server.RootPid} waiting for", StringComparison.Ordinal));

        // The old process, draining, is told by its own app code to stop: on the keep-alive connection it still has.
        var (stopStatus, stopBody, _) = await toOld.GetAsync("/stop", closeAfter: true, CancellationToken.None);
        Assert.Equal(200, stopStatus);
        Assert.Equal("stopping", stopBody);
        Assert.Equal(200, (await inFlight).Status);
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));

        // The successor still has its listening socket, whole: it serves every new connection.
        for (var i = 0; i < 20; i++)
        {
            var (status, body, _) = await new MiniHttpClient(server.BaseAddress).GetAsync("/", closeAfter: true, CancellationToken.None);
            Assert.Equal(200, status);
            Assert.Contains($"\"pid\":{next}", body, StringComparison.Ordinal);
        }

        Assert.Equal(next, server.ReadPidFile());
    }

    [Fact]
    public async Task StopApplication_during_a_handover_abandons_the_new_process_then_drains()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp);
        await File.WriteAllTextAsync(Path.Combine(server.WorkDirectory, "appsettings.json"), "{ \"TestApp\": { \"StartDelayMilliseconds\": 20000 } }");
        server.Signal(server.RootPid, Posix.SIGHUP);
        var child = await server.WaitForSuccessorStartedAsync();

        var (status, _, _) = await new MiniHttpClient(server.BaseAddress).GetAsync("/stop", closeAfter: true, CancellationToken.None);
        Assert.Equal(200, status);
        Assert.Equal(0, await server.WaitForRootExitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(Directory.Exists($"/proc/{child}"), "the abandoned process is killed and reaped");
        Assert.Contains("the handover was abandoned", server.Log, StringComparison.Ordinal);
        Assert.False(File.Exists(server.PidFile));
    }

    [Fact]
    public async Task A_BeforeBegin_hook_that_throws_in_the_first_process_fails_its_start_with_the_reason_and_exit_code_1()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp, ["--TestApp:BeforeBeginThrows=true"], waitUntilServing: false);
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await server.Root.WaitForExitAsync(exit.Token);

        Assert.Equal(1, server.Root.ExitCode);
        Assert.Contains(server.Log.Split('\n'), l => l.Contains($"Process {server.RootPid} failed to start and stops (exit code 1)", StringComparison.Ordinal));
        Assert.Contains("the BeforeBegin hook refuses to start", server.Log, StringComparison.Ordinal);
        Assert.False(File.Exists(server.PidFile), "a process that never served writes no pid file");
    }

    [Fact]
    public async Task A_BeforeBegin_hook_that_throws_in_a_successor_fails_the_handover_at_once()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp);
        var settings = Path.Combine(server.WorkDirectory, "appsettings.json");
        await File.WriteAllTextAsync(settings, "{ \"TestApp\": { \"BeforeBeginThrows\": true } }");

        server.Signal(server.RootPid, Posix.SIGHUP);
        var failure = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Contains("failed to start: System.InvalidOperationException: the BeforeBegin hook refuses to start (it exited with code 1)", failure, StringComparison.Ordinal);
        Assert.Equal([server.RootPid], server.AlivePids());
        Assert.Equal(server.RootPid, server.ReadPidFile());
    }

    [Fact]
    public async Task The_BeforeBegin_hook_sees_the_real_pid_generation_and_addresses_of_each_process()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp, ["--TestApp:BeforeBeginLogsContext=true"], waitUntilServing: false);
        var first = await server.WaitForLineAsync(l => l.StartsWith("BeforeBegin:", StringComparison.Ordinal));
        var address = System.Text.RegularExpressions.Regex.Match(first, @"addresses (\S+)").Groups[1].Value;
        Assert.Equal($"BeforeBegin: pid {server.RootPid}, generation 1, addresses {address}", first);
        Assert.StartsWith("http://127.0.0.1:", address, StringComparison.Ordinal);

        server.Signal(server.RootPid, Posix.SIGHUP);
        var ready = await server.WaitForLineAsync(l => l.Contains("ready after", StringComparison.Ordinal));
        var next = int.Parse(System.Text.RegularExpressions.Regex.Match(ready, @"New process (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Contains($"BeforeBegin: pid {next}, generation 2, addresses {address}", server.Log, StringComparison.Ordinal);

        // With a hook of its own, the app is not also told "Actual pid is N".
        Assert.DoesNotContain("Actual pid is", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseBaton_called_twice_fails_the_start_saying_so()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp, ["--TestApp:UseBatonTwice=true"], waitUntilServing: false);
        Assert.NotEqual(0, await server.WaitForRootExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("UseBaton() was already called on this builder", server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_successor_clears_the_handover_variables_from_the_environment_native_code_sees()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp);
        var next = await server.RestartAsync(server.RootPid);
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));

        // The successor was started with them (its initial environment block still shows them)...
        var initial = File.ReadAllText($"/proc/{next}/environ").Split('\0');
        Assert.Contains(initial, v => v.StartsWith("BATON_CHANNEL_FD=", StringComparison.Ordinal));

        // ...but getenv(), what system() and native libraries pass on, no longer has any of them.
        foreach (var variable in new[] { "BATON_LISTEN_FDS", "BATON_CHANNEL_FD", "BATON_GENERATION", "BATON_PARENT_PID", "BATON_STDERR_FD", "BATON_STDERR_RELAY_FD", "BATON_ACTIVATED_FDS" })
        {
            var (status, body, _) = await new MiniHttpClient(server.BaseAddress).GetAsync($"/native-getenv?name={variable}", closeAfter: true, CancellationToken.None);
            Assert.Equal(200, status);
            Assert.Equal("(unset)", body);
        }
    }
}
