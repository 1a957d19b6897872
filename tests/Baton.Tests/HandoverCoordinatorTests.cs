using Baton.Handover;
using Baton.Interop;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Baton.Tests;

public sealed class HandoverCoordinatorTests
{
    private static HandoverCoordinator Serving(FakeServer server, FakeLauncher launcher, TimeSpan? readyTimeout = null)
    {
        var coordinator = new HandoverCoordinator(server, new SuccessorLauncher(launcher, TimeProvider.System), TimeProvider.System, NullLogger.Instance, readyTimeout ?? TimeSpan.FromSeconds(5), generation: 1);
        coordinator.OnServing();
        return coordinator;
    }

    [Fact]
    public async Task A_ready_successor_makes_the_old_process_stop_accepting_drain_and_exit_keeping_the_pid_file()
    {
        var server = new FakeServer();
        var child = new FakeSuccessor(200);
        var launcher = new FakeLauncher().Then(child);
        var coordinator = Serving(server, launcher);

        coordinator.Restart();
        child.Say("ready 200 2");
        while (coordinator.State != BatonState.Draining)
        {
            await Task.Delay(5);
        }

        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(["stop accepting (handed over)", "drain", "exit"], server.Calls);
        Assert.Same(server.Listeners, Assert.Single(launcher.Starts).Listeners);
        Assert.Equal(BatonState.Exited, coordinator.State);
    }

    [Fact]
    public async Task Sighup_during_a_handover_is_ignored_and_a_failed_handover_returns_to_serving_untouched()
    {
        var server = new FakeServer();
        var first = new FakeSuccessor(201);
        var second = new FakeSuccessor(202);
        var launcher = new FakeLauncher().Then(first).Then(second);
        var coordinator = Serving(server, launcher);

        coordinator.Restart();
        Assert.Equal(BatonState.HandingOver, coordinator.State);
        coordinator.Restart();
        coordinator.Restart();
        first.Die(new ChildExit(1, null));
        await coordinator.Work;

        Assert.Equal(BatonState.Serving, coordinator.State);
        Assert.Single(launcher.Starts);
        Assert.Empty(server.Calls);

        // Had the failed successor already written the pid file, this process takes it back.
        Assert.Equal([201], server.ReclaimedFrom);

        // A later SIGHUP works again.
        coordinator.Restart();
        second.Say("ready 202 2");
        while (coordinator.State != BatonState.Draining)
        {
            await Task.Delay(5);
        }

        Assert.Equal(2, launcher.Starts.Count);
    }

    [Fact]
    public async Task Stop_while_serving_drains_then_exits_and_removes_the_pid_file()
    {
        var server = new FakeServer();
        var coordinator = Serving(server, new FakeLauncher());

        coordinator.Stop("SIGTERM");
        Assert.Equal(BatonState.Draining, coordinator.State);
        coordinator.Restart();
        Assert.Equal(BatonState.Draining, coordinator.State);
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(["stop accepting", "drain", "exit (delete pid file)"], server.Calls);
    }

    [Fact]
    public async Task Hammer_while_serving_does_nothing_and_while_draining_cuts_the_drain()
    {
        var server = new FakeServer();
        var coordinator = Serving(server, new FakeLauncher());

        coordinator.Hammer();
        Assert.Equal(BatonState.Serving, coordinator.State);
        Assert.Empty(server.Calls);

        coordinator.Stop("SIGTERM");
        coordinator.Hammer();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(server.HammerToken.IsCancellationRequested);
        Assert.Equal("exit (delete pid file)", server.Calls[^1]);
    }

    [Fact]
    public async Task Stop_during_a_handover_waits_for_it_then_stops_the_new_process_too()
    {
        var server = new FakeServer();
        var child = new FakeSuccessor(203);
        var launcher = new FakeLauncher().Then(child);
        var coordinator = Serving(server, launcher);

        coordinator.Restart();
        coordinator.Stop("SIGTERM");
        Assert.Equal(BatonState.HandingOver, coordinator.State);
        child.Say("ready 203 2");
        while (coordinator.State != BatonState.Draining)
        {
            await Task.Delay(5);
        }

        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([203], launcher.StopRequests);
    }

    [Fact]
    public async Task Stop_during_a_handover_that_fails_stops_this_process()
    {
        var server = new FakeServer();
        var child = new FakeSuccessor(204);
        var coordinator = Serving(server, new FakeLauncher().Then(child));

        coordinator.Restart();
        coordinator.Stop("SIGINT");
        child.Die(new ChildExit(3, null));
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["stop accepting", "drain", "exit (delete pid file)"], server.Calls);
    }

    [Fact]
    public void Sighup_before_the_process_serves_is_ignored_and_stop_exits_at_once()
    {
        var server = new FakeServer();
        var launcher = new FakeLauncher();
        var coordinator = new HandoverCoordinator(server, new SuccessorLauncher(launcher, TimeProvider.System), TimeProvider.System, NullLogger.Instance, TimeSpan.FromSeconds(1), 1);

        coordinator.Restart();
        Assert.Empty(launcher.Starts);
        coordinator.Stop("SIGTERM");
        Assert.Equal(BatonState.Exited, coordinator.State);
        Assert.Equal(["exit"], server.Calls);
    }
}
