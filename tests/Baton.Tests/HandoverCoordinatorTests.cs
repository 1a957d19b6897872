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
        await WaitForStateAsync(coordinator, BatonState.Draining);

        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(["stop accepting (sockets kept open)", "move connections", "drain", "exit"], server.Calls);
        Assert.Same(child, server.MovingTo);
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
        await WaitForStateAsync(coordinator, BatonState.Draining);

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
    public async Task Stop_during_a_handover_abandons_the_starting_process_within_a_second_then_drains()
    {
        var server = new FakeServer();
        var child = new FakeSuccessor(203);
        var launcher = new FakeLauncher().Then(child);
        var coordinator = Serving(server, launcher, readyTimeout: TimeSpan.FromSeconds(30));

        coordinator.Restart();
        var stopped = System.Diagnostics.Stopwatch.StartNew();
        coordinator.Stop("SIGTERM");
        while (coordinator.State == BatonState.HandingOver)
        {
            Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(1), "the handover must be abandoned within a second");
            await Task.Delay(5);
        }

        Assert.True(child.Killed);
        Assert.True(child.Disposed);
        Assert.False(child.Accepted);
        Assert.Equal(BatonState.Draining, coordinator.State);
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["stop accepting", "drain", "exit (delete pid file)"], server.Calls);
        Assert.Empty(launcher.StopRequests);
    }

    [Fact]
    public async Task Stop_that_meets_a_successor_already_told_to_go_stops_the_new_process_too()
    {
        var server = new FakeServer();
        HandoverCoordinator? coordinator = null;
        var child = new FakeSuccessor(213) { OnAccept = () => coordinator!.Stop("SIGTERM") };
        var launcher = new FakeLauncher().Then(child);
        coordinator = Serving(server, launcher);

        coordinator.Restart();
        child.Say("ready 213 2");
        await WaitForStateAsync(coordinator, BatonState.Draining);
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([213], launcher.StopRequests);
        Assert.Equal(["stop accepting (sockets kept open)", "move connections", "drain", "exit"], server.Calls);
    }

    [Fact]
    public async Task Hammer_during_a_handover_abandons_it_and_the_process_serves_on()
    {
        var server = new FakeServer();
        var first = new FakeSuccessor(214);
        var second = new FakeSuccessor(215);
        var launcher = new FakeLauncher().Then(first).Then(second);
        var coordinator = Serving(server, launcher, readyTimeout: TimeSpan.FromSeconds(30));

        coordinator.Restart();
        coordinator.Hammer();
        await coordinator.Work.WaitAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(BatonState.Serving, coordinator.State);
        Assert.True(first.Killed);
        Assert.Empty(server.Calls);

        // The next SIGHUP gets a handover of its own, not an abandoned one.
        coordinator.Restart();
        second.Say("ready 215 2");
        await WaitForStateAsync(coordinator, BatonState.Draining);
        Assert.True(second.Accepted);
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
    public async Task Sighup_before_the_process_serves_is_ignored_and_stop_ends_it_without_serving()
    {
        var server = new FakeServer { OwnsListeners = false };
        var launcher = new FakeLauncher();
        var coordinator = new HandoverCoordinator(server, new SuccessorLauncher(launcher, TimeProvider.System), TimeProvider.System, NullLogger.Instance, TimeSpan.FromSeconds(1), 2);

        coordinator.Restart();
        Assert.Empty(launcher.Starts);
        coordinator.Stop("SIGTERM");
        Assert.False(coordinator.OnServing());
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));

        // A successor that was never accepted leaves the sockets open: its predecessor serves on them.
        Assert.Equal(["stop accepting (sockets kept open)", "drain", "exit (delete pid file)"], server.Calls);
    }

    [Fact]
    public async Task Sighup_while_the_predecessor_drains_is_deferred_until_it_exits_and_repeated_ones_coalesce()
    {
        var server = new FakeServer();
        var predecessor = new FakePredecessor(100) { OpenConnections = 4 };
        var child = new FakeSuccessor(216);
        var launcher = new FakeLauncher().Then(child);
        var logger = new RecordingLogger();
        var coordinator = new HandoverCoordinator(server, new SuccessorLauncher(launcher, TimeProvider.System), TimeProvider.System, logger, TimeSpan.FromSeconds(5), 2, predecessor);
        coordinator.OnServing();

        coordinator.Restart();
        coordinator.Restart();
        coordinator.Restart();
        Assert.Equal(BatonState.Serving, coordinator.State);
        Assert.Empty(launcher.Starts);
        Assert.Equal(3, logger.Lines.Count(l => l.Contains($"SIGHUP deferred by process {Environment.ProcessId}: process 100 it took over from still drains (4 connection(s) open)", StringComparison.Ordinal)));

        predecessor.Exit();
        await WaitForStateAsync(coordinator, BatonState.HandingOver);
        child.Say("ready 216 3");
        await WaitForStateAsync(coordinator, BatonState.Draining);
        Assert.Equal(3, Assert.Single(launcher.Starts).Generation);
    }

    [Fact]
    public async Task A_deferred_restart_is_dropped_by_a_stop()
    {
        var server = new FakeServer();
        var predecessor = new FakePredecessor(100);
        var launcher = new FakeLauncher();
        var coordinator = new HandoverCoordinator(server, new SuccessorLauncher(launcher, TimeProvider.System), TimeProvider.System, NullLogger.Instance, TimeSpan.FromSeconds(5), 2, predecessor);
        coordinator.OnServing();

        coordinator.Restart();
        coordinator.Stop("SIGTERM");
        predecessor.Exit();
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Empty(launcher.Starts);
    }

    [Fact]
    public async Task A_log_provider_that_throws_never_leaves_the_process_handing_over()
    {
        var server = new FakeServer();
        var failing = new FakeSuccessor(217);
        var ready = new FakeSuccessor(218);
        var coordinator = new HandoverCoordinator(
            server, new SuccessorLauncher(new FakeLauncher().Then(failing).Then(ready), TimeProvider.System), TimeProvider.System, new ThrowingLogger(), TimeSpan.FromSeconds(5), 1);
        coordinator.OnServing();

        coordinator.Restart();
        failing.Die(new ChildExit(1, null));
        await coordinator.Work.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(BatonState.Serving, coordinator.State);

        coordinator.Restart();
        ready.Say("ready 218 2");
        await WaitForStateAsync(coordinator, BatonState.Draining);
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(BatonState.Exited, coordinator.State);
    }

    [Fact]
    public async Task A_server_that_throws_while_the_handover_starts_leaves_the_process_serving()
    {
        var server = new FakeServer { ListenersFail = new OutOfMemoryException("no memory for the listener list") };
        var coordinator = Serving(server, new FakeLauncher());

        coordinator.Restart();
        await coordinator.Work.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(BatonState.Serving, coordinator.State);
    }

    [Fact]
    public async Task The_draining_process_reports_its_connections_to_the_successor_and_reaps_it_if_it_dies()
    {
        var server = new FakeServer();
        var child = new FakeSuccessor(219);
        var logger = new RecordingLogger();
        var coordinator = new HandoverCoordinator(server, new SuccessorLauncher(new FakeLauncher().Then(child), TimeProvider.System), TimeProvider.System, logger, TimeSpan.FromSeconds(5), 1);
        coordinator.OnServing();

        coordinator.Restart();
        child.Say("ready 219 2");
        await WaitForStateAsync(coordinator, BatonState.Draining);
        child.Exit = new ChildExit(null, 11);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!logger.Lines.Any(l => l.Contains("New process 219 was killed by signal 11 (SIGSEGV) while process", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the successor's death must be noticed while draining");
            await Task.Delay(10);
        }

        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        lock (child.DrainingReports)
        {
            Assert.Equal(3, child.DrainingReports[0]);
        }
    }

    private static async Task WaitForStateAsync(HandoverCoordinator coordinator, BatonState state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (coordinator.State != state)
        {
            Assert.True(DateTime.UtcNow < deadline, $"still {coordinator.State}, waiting for {state}");
            await Task.Delay(5);
        }
    }
}
