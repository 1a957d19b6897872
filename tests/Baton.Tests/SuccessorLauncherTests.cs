using Baton.Handover;
using Baton.Interop;
using Xunit;

namespace Baton.Tests;

public sealed class SuccessorLauncherTests
{
    private static readonly IReadOnlyList<InheritedListener> Listeners = [new(3, System.Net.IPEndPoint.Parse("127.0.0.1:8000"))];

    [Fact]
    public void Ready_from_the_started_pid_is_success()
    {
        var child = new FakeSuccessor(100);
        var launcher = new FakeLauncher().Then(child);
        child.Say("ready 100 2");

        var outcome = new SuccessorLauncher(launcher, TimeProvider.System).Run(Listeners, 2, TimeSpan.FromSeconds(5), CancellationToken.None);

        var success = Assert.IsType<HandoverSucceeded>(outcome);
        Assert.Equal(100, success.Pid);
        Assert.Equal(2, success.Generation);
        Assert.False(child.Killed);
        Assert.True(child.Disposed);
        Assert.Equal(2, Assert.Single(launcher.Starts).Generation);
    }

    [Fact]
    public void A_broken_handshake_channel_kills_the_successor_and_fails_the_handover_instead_of_throwing()
    {
        var child = new FakeSuccessor(104) { ReadFails = new IOException("read(ready pipe): Bad file descriptor") };

        var outcome = new SuccessorLauncher(new FakeLauncher().Then(child), TimeProvider.System).Run(Listeners, 2, TimeSpan.FromSeconds(5), CancellationToken.None);

        var failed = Assert.IsType<HandoverFailed>(outcome);
        Assert.Equal("waiting for new process 104 failed (IOException: read(ready pipe): Bad file descriptor); it was killed (was killed by signal 9 (SIGKILL))", failed.Reason);
        Assert.True(child.Killed);
        Assert.True(child.Disposed);
    }

    [Fact]
    public void A_successor_that_dies_is_reaped_and_its_exit_reported()
    {
        var child = new FakeSuccessor(101);
        child.Die(new ChildExit(null, 6));

        var outcome = new SuccessorLauncher(new FakeLauncher().Then(child), TimeProvider.System).Run(Listeners, 2, TimeSpan.FromSeconds(5), CancellationToken.None);

        var failed = Assert.IsType<HandoverFailed>(outcome);
        Assert.Equal("new process 101 was killed by signal 6 (SIGABRT) before it was ready", failed.Reason);
        Assert.False(child.Killed);
    }

    [Fact]
    public void A_successor_that_reports_failure_has_its_reason_and_exit_code_logged()
    {
        var child = new FakeSuccessor(102);
        child.Say("failed System.InvalidOperationException: database is down");
        child.Exit = new ChildExit(1, null);

        var outcome = new SuccessorLauncher(new FakeLauncher().Then(child), TimeProvider.System).Run(Listeners, 2, TimeSpan.FromSeconds(5), CancellationToken.None);

        var failed = Assert.IsType<HandoverFailed>(outcome);
        Assert.Equal("new process 102 failed to start: System.InvalidOperationException: database is down (it exited with code 1)", failed.Reason);
    }

    [Fact]
    public void A_successor_silent_past_the_ready_timeout_is_killed()
    {
        var child = new FakeSuccessor(103);

        var outcome = new SuccessorLauncher(new FakeLauncher().Then(child), TimeProvider.System).Run(Listeners, 2, TimeSpan.FromMilliseconds(150), CancellationToken.None);

        var failed = Assert.IsType<HandoverFailed>(outcome);
        Assert.True(child.Killed);
        Assert.StartsWith("new process 103 was not ready within 0.15 s; it was killed (was killed by signal 9 (SIGKILL))", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Ready_claimed_for_another_pid_is_refused()
    {
        var child = new FakeSuccessor(104);
        child.Say("ready 999 2");

        var outcome = new SuccessorLauncher(new FakeLauncher().Then(child), TimeProvider.System).Run(Listeners, 2, TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.IsType<HandoverFailed>(outcome);
        Assert.True(child.Killed);
    }

    [Fact]
    public void A_spawn_that_fails_is_a_failed_handover_not_a_crash()
    {
        var launcher = new FakeLauncher { FailWith = new PosixException("posix_spawn(/app)", 2) };

        var outcome = new SuccessorLauncher(launcher, TimeProvider.System).Run(Listeners, 2, TimeSpan.FromSeconds(5), CancellationToken.None);

        var failed = Assert.IsType<HandoverFailed>(outcome);
        Assert.StartsWith("the new process could not be started: posix_spawn(/app) failed:", failed.Reason, StringComparison.Ordinal);
    }
}
