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
        Assert.True(child.Accepted);

        // The caller keeps the successor (it reports its drain to it); a failed one is disposed here.
        Assert.Same(child, success.Successor);
        Assert.False(child.Disposed);
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

    [Fact]
    public void A_ready_already_there_at_the_deadline_is_honoured_by_a_last_look()
    {
        var child = new FakeSuccessor(105);
        child.Say("ready 105 2");

        // The first reading of the clock is already past the deadline: only the last look can see the ready.
        var outcome = new SuccessorLauncher(new FakeLauncher().Then(child), new SteppingTimeProvider(TimeSpan.FromSeconds(10)))
            .Run(Listeners, 2, TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.IsType<HandoverSucceeded>(outcome);
        Assert.True(child.Accepted);
        Assert.False(child.Killed);
    }

    [Fact]
    public void A_ready_that_comes_with_the_abandonment_is_not_accepted()
    {
        var child = new FakeSuccessor(106);
        child.Say("ready 106 2");
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        var outcome = new SuccessorLauncher(new FakeLauncher().Then(child), TimeProvider.System).Run(Listeners, 2, TimeSpan.FromSeconds(5), cancel.Token);

        Assert.IsType<HandoverFailed>(outcome);
        Assert.False(child.Accepted);
        Assert.True(child.Killed);
        Assert.True(child.Disposed);
    }

    [Fact]
    public void A_successor_that_dies_between_ready_and_go_fails_the_handover()
    {
        var child = new FakeSuccessor(107) { CannotBeTold = true, Exit = new ChildExit(null, 11) };
        child.Say("ready 107 2");

        var outcome = new SuccessorLauncher(new FakeLauncher().Then(child), TimeProvider.System).Run(Listeners, 2, TimeSpan.FromSeconds(5), CancellationToken.None);

        var failed = Assert.IsType<HandoverFailed>(outcome);
        Assert.Equal("new process 107 reported ready, then could not be told to go on: it was killed by signal 11 (SIGSEGV)", failed.Reason);
    }

    [Fact]
    public async Task A_child_not_reaped_within_the_grace_period_is_reaped_later_not_dropped()
    {
        // Two attempts fail inside the launcher's (instant) grace period; the reaper keeps trying until one succeeds.
        var child = new FakeSuccessor(108) { UnreapableTries = 1000 };
        var time = new SteppingTimeProvider(TimeSpan.FromSeconds(1));

        var outcome = new SuccessorLauncher(new FakeLauncher().Then(child), time).Run(Listeners, 2, TimeSpan.FromSeconds(2), CancellationToken.None);

        var failed = Assert.IsType<HandoverFailed>(outcome);
        Assert.Contains("not reaped within 5 s of SIGKILL; still trying", failed.Reason, StringComparison.Ordinal);
        var attempts = child.ReapAttempts;
        child.UnreapableTries = 1;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ChildReaper.PendingCount > 0 || child.ReapAttempts < attempts + 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the reaper must keep trying until the child is reaped");
            await Task.Delay(50);
        }

        Assert.Equal(0, child.UnreapableTries);
    }
}
