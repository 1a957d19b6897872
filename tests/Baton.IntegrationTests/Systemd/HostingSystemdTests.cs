using System.Globalization;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests.Systemd;

/// <summary>
/// Apps that also call Microsoft.Extensions.Hosting.Systemd's AddSystemd()/UseSystemd(). Those act only when the parent
/// process is named systemd, so the app runs under a shell of that name here (as under systemd, where the first
/// generation's parent is systemd and a successor's is its predecessor).
/// </summary>
public sealed class HostingSystemdTests
{
    [Theory]
    [InlineData("Add")]
    [InlineData("Use")]
    public async Task Systemd_hosting_called_before_UseBaton_keeps_Batons_lifetime_and_notifier_through_a_handover(string api)
    {
        using var notify = new NotifySocket();
        await using var server = await ServerProcess.StartAsync(
            SampleApp.TestApp,
            [$"--TestApp:Systemd={api}", "--TestApp:SystemdOrder=before"],
            environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path },
            parentNamed: "systemd");
        var first = server.FirstPid;
        Assert.NotEqual(server.RootPid, first);
        await notify.WaitForAsync(m => m.Pid == first && m.Value("READY") == "1");

        // Baton's lifetime is the one that runs: SIGHUP hands over (SystemdLifetime would not have attached Baton's
        // signal handling at all), and the process that hands over does not say STOPPING=1 (SystemdLifetime would, at
        // its ApplicationStopping).
        var second = await server.RestartAsync(first);
        await notify.WaitForAsync(m => m.Pid == second && m.Value("READY") == "1");
        await server.WaitForExitAsync(first, TimeSpan.FromSeconds(20));
        server.Signal(second, Posix.SIGTERM);
        await server.WaitForExitAsync(second, TimeSpan.FromSeconds(20));
        await notify.WaitForAsync(m => m.Value("STOPPING") == "1");
        await notify.FlushAsync();

        string Name(int pid) => pid == first ? "first" : pid == second ? "second" : pid.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(
        [
            "first: READY=1 STATUS",
            "first: RELOADING=1 MONOTONIC_USEC STATUS",
            "first: MAINPID=second STATUS",
            "second: READY=1 STATUS",
            "second: STOPPING=1 STATUS",
        ], notify.Messages.Where(m => m.Pid != Environment.ProcessId).Select(m => m.Shape(Name)));
    }

    [Theory]
    [InlineData("Add")]
    [InlineData("Use")]
    public async Task Systemd_hosting_called_after_UseBaton_fails_the_start_saying_what_to_do_before_anything_is_told_ready(string api)
    {
        using var notify = new NotifySocket();
        await using var server = await ServerProcess.StartAsync(
            SampleApp.TestApp,
            [$"--TestApp:Systemd={api}", "--TestApp:SystemdOrder=after"],
            environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path },
            waitUntilServing: false,
            parentNamed: "systemd");
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await server.Root.WaitForExitAsync(exit.Token);

        Assert.NotEqual(0, server.Root.ExitCode);
        Assert.Contains(
            "Baton.BatonStartupException: AddSystemd()/UseSystemd() was called after UseBaton() and replaced Baton's host lifetime with SystemdLifetime. Call UseBaton() after it, or leave it out",
            server.Log,
            StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on", server.Log, StringComparison.Ordinal);
        await notify.FlushAsync();
        Assert.DoesNotContain(notify.Messages, m => m.Value("READY") is not null);
    }
}
