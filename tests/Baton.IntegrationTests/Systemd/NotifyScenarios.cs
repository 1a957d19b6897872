using System.Globalization;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests.Systemd;

/// <summary>What a serving app under Type=notify must tell systemd through one handover and a stop, checked whole.</summary>
internal static class NotifyScenarios
{
    /// <summary>
    /// SIGHUP to <paramref name="first"/>, SIGTERM to the process that took over; then every datagram, in order and by
    /// sender: ready, reloading, the new main pid, ready from the new process, and STOPPING=1 from it alone.
    /// </summary>
    public static async Task HandOverThenStopAsync(ServerProcess server, NotifySocket notify, int first)
    {
        await notify.WaitForAsync(m => m.Pid == first && m.Value("READY") == "1");
        var second = await server.RestartAsync(first);
        await notify.WaitForAsync(m => m.Pid == second && m.Value("READY") == "1");
        await server.WaitForExitAsync(first, TimeSpan.FromSeconds(20));
        server.Signal(second, Posix.SIGTERM);
        await server.WaitForExitAsync(second, TimeSpan.FromSeconds(20));
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
}
