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
        var first = server.FirstServingPid;
        Assert.NotEqual(server.RootPid, first);

        // Baton's lifetime is the one that runs: SIGHUP hands over (SystemdLifetime would not have attached Baton's
        // signal handling at all), and the process that hands over does not say STOPPING=1 (SystemdLifetime would, at
        // its ApplicationStopping).
        await NotifyScenarios.HandOverThenStopAsync(server, notify, first);
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
