using System.Globalization;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests.Systemd;

/// <summary>
/// systemd's notify protocol (Type=notify, NotifyAccess=all) against a socket the test owns, with each datagram's
/// sender taken from the kernel (SCM_CREDENTIALS), as systemd does.
/// </summary>
public sealed class NotifyProtocolTests
{
    [Fact]
    public async Task Start_handover_failed_handover_and_stop_are_told_in_order_each_by_the_process_it_concerns()
    {
        using var notify = new NotifySocket();
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path });
        var first = server.RootPid;
        await notify.WaitForAsync(m => m.Pid == first && m.Value("READY") == "1");

        // A handover: the old process says it reloads, names the new main pid, and the new process says it is ready.
        var beforeReload = NotifySocket.MonotonicMicroseconds();
        var second = await server.RestartAsync(first);
        await notify.WaitForAsync(m => m.Pid == second && m.Value("READY") == "1");
        await server.WaitForExitAsync(first, TimeSpan.FromSeconds(20));

        // A handover that fails after the new process's host has started (its pid file's path is a directory now): the
        // process that gave up says nothing, the old one is ready again.
        File.Delete(server.PidFile);
        Directory.CreateDirectory(server.PidFile);
        server.Signal(second, Posix.SIGHUP);
        var failed = await server.WaitForSuccessorStartedAsync(skip: 1);
        await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal));
        await notify.WaitForAsync(m => m.Pid == second && m.Value("READY") == "1", skip: 1);
        Directory.Delete(server.PidFile);

        // The real stop: STOPPING=1, from the last process only.
        server.Signal(second, Posix.SIGTERM);
        await server.WaitForExitAsync(second, TimeSpan.FromSeconds(20));
        await notify.WaitForAsync(m => m.Value("STOPPING") == "1");
        await notify.FlushAsync();

        var names = new Dictionary<int, string> { [first] = "first", [second] = "second", [failed] = "failed" };
        string Name(int pid) => names.TryGetValue(pid, out var name) ? name : pid.ToString(CultureInfo.InvariantCulture);
        // The second SIGHUP is sent once the first process has exited, but the second process learns that from the end
        // of file on the handover channel, a moment later: a SIGHUP in between is deferred (a STATUS line saying so)
        // and carried out at that end of file. Either way the same protocol follows.
        var deferred = $"a restart waits until process {first} has drained";
        var messages = notify.Messages.Where(m => m.Pid != Environment.ProcessId)
            .Where(m => !(m.Pid == second && m.Shape(Name) == "second: STATUS" && (m.Value("STATUS") ?? "").EndsWith(deferred, StringComparison.Ordinal)))
            .ToList();
        Assert.Equal(
        [
            "first: READY=1 STATUS",
            "first: RELOADING=1 MONOTONIC_USEC STATUS",
            "first: MAINPID=second STATUS",
            "second: READY=1 STATUS",
            "second: RELOADING=1 MONOTONIC_USEC STATUS",
            "second: READY=1 STATUS",
            "second: STOPPING=1 STATUS",
        ], messages.Select(m => m.Shape(Name)));

        // MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds, taken between the SIGHUP and the datagram's arrival.
        var reloading = messages[1];
        var stamp = long.Parse(reloading.Value("MONOTONIC_USEC")!, CultureInfo.InvariantCulture);
        Assert.InRange(stamp, beforeReload, reloading.ReceivedAtMicroseconds);

        Assert.Equal($"Serving: process {first}, generation 1", messages[0].Value("STATUS"));
        Assert.Equal($"Serving: process {second}, generation 2", messages[3].Value("STATUS"));
        Assert.StartsWith(
            $"Serving: process {second}, generation 2; the last handover failed: new process {failed} failed to start: System.IO.IOException",
            messages[5].Value("STATUS"),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Blog_sample_speaks_the_protocol_with_nothing_added_to_it()
    {
        using var notify = new NotifySocket();
        await using var server = await Blog.BlogServer.StartAsync(Blog.BlogUser.New(), environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path });
        await NotifyScenarios.HandOverThenStopAsync(server, notify, server.RootPid);
    }
}
