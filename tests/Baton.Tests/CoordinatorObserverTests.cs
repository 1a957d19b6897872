using Baton.Draining;
using Baton.Handover;
using Baton.Interop;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Baton.Tests;

/// <summary>The transitions observers see (metrics, systemd, status), and what a restart request is answered.</summary>
public sealed class CoordinatorObserverTests
{
    [Fact]
    public async Task A_handover_is_seen_as_starting_handing_over_to_the_pid_succeeded_then_draining_and_drained()
    {
        var observer = new RecordingObserver();
        var server = new FakeServer();
        var child = new FakeSuccessor(300);
        var coordinator = Create(server, new FakeLauncher().Then(child), observer);

        var result = coordinator.RequestRestart();
        child.Say("ready 300 2");
        var succeeded = Assert.IsType<RestartSucceeded>(await result.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal((300, 2), (succeeded.Pid, succeeded.Generation));
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));

        // No Stopping: a process that hands over never says the service stops.
        Assert.Equal(["handover starting", "handing over to 300", "handover succeeded 300 2", "draining (handed over)", "drained Drained"], observer.Calls);
    }

    [Fact]
    public async Task A_failed_handover_is_seen_with_its_reason_and_the_request_answered_with_it()
    {
        var observer = new RecordingObserver();
        var child = new FakeSuccessor(301);
        var coordinator = Create(new FakeServer(), new FakeLauncher().Then(child), observer);

        var result = coordinator.RequestRestart();
        child.Die(new ChildExit(3, null));
        var failed = Assert.IsType<RestartFailed>(await result.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("new process 301 exited with code 3 before it was ready", failed.Reason);
        Assert.Equal(["handover starting", "handover failed new process 301 exited with code 3 before it was ready"], observer.Calls);
    }

    [Fact]
    public async Task A_request_while_handing_over_is_refused_and_one_while_the_predecessor_drains_is_deferred()
    {
        var child = new FakeSuccessor(302);
        var coordinator = Create(new FakeServer(), new FakeLauncher().Then(child), new RecordingObserver());
        _ = coordinator.RequestRestart();
        Assert.Equal(new RestartRefused(BatonState.HandingOver), await coordinator.RequestRestart());

        var predecessor = new FakePredecessor(77) { OpenConnections = 2 };
        var observer = new RecordingObserver();
        var successor = Create(new FakeServer(), new FakeLauncher(), observer, predecessor);
        Assert.Equal(new RestartDeferred(77, 2), await successor.RequestRestart());
        Assert.Equal(["restart deferred 77"], observer.Calls);
    }

    [Fact]
    public async Task A_real_stop_is_seen_as_stopping_and_waits_DrainDelay_unready_before_it_stops_accepting()
    {
        var observer = new RecordingObserver();
        var server = new FakeServer();
        var coordinator = Create(server, new FakeLauncher(), observer, drainDelay: TimeSpan.FromMilliseconds(300));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        coordinator.Stop("SIGTERM");
        Assert.Equal(BatonState.Draining, coordinator.State);
        Assert.Empty(server.Calls);
        while (server.Calls.Count == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "never stopped accepting");
            await Task.Delay(10);
        }

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(280), $"stopped accepting after {clock.ElapsedMilliseconds} ms");
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["stopping", "draining", "drained Drained"], observer.Calls);
    }

    [Fact]
    public async Task A_successor_that_gives_up_before_it_was_accepted_is_not_seen_as_the_service_stopping()
    {
        var observer = new RecordingObserver();
        var server = new FakeServer { OwnsListeners = false };
        var coordinator = Create(server, new FakeLauncher(), observer, drainDelay: TimeSpan.FromSeconds(30));

        coordinator.Stop("SIGTERM");
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["draining", "drained Drained"], observer.Calls);
    }

    [Fact]
    public void An_observer_that_throws_changes_nothing()
    {
        var coordinator = Create(new FakeServer(), new FakeLauncher(), new ThrowingObserver());
        coordinator.NotifyServing();
        coordinator.Hammer();
        Assert.Equal(BatonState.Serving, coordinator.State);
    }

    private static HandoverCoordinator Create(FakeServer server, FakeLauncher launcher, IBatonObserver observer, IPredecessor? predecessor = null, TimeSpan drainDelay = default)
    {
        var coordinator = new HandoverCoordinator(
            server, new SuccessorLauncher(launcher, TimeProvider.System), TimeProvider.System, NullLogger.Instance, TimeSpan.FromSeconds(5),
            generation: predecessor is null ? 1 : 2, predecessor, new BatonObservers([observer]), drainDelay);
        coordinator.OnServing();
        return coordinator;
    }

    private sealed class RecordingObserver : IBatonObserver
    {
        private readonly List<string> _calls = [];

        public IReadOnlyList<string> Calls
        {
            get
            {
                lock (_calls)
                {
                    return [.. _calls];
                }
            }
        }

        public void HandoverStarting() => Add("handover starting");

        public void HandingOverTo(int successorPid) => Add($"handing over to {successorPid}");

        public void HandoverSucceeded(int successorPid, int generation, TimeSpan elapsed) => Add($"handover succeeded {successorPid} {generation}");

        public void HandoverFailed(string reason, TimeSpan elapsed) => Add($"handover failed {reason}");

        public void RestartDeferred(int predecessorPid) => Add($"restart deferred {predecessorPid}");

        public void Stopping() => Add("stopping");

        public void Draining(bool handedOver) => Add(handedOver ? "draining (handed over)" : "draining");

        public void Drained(DrainResult result, TimeSpan elapsed) => Add($"drained {result}");

        private void Add(string call)
        {
            lock (_calls)
            {
                _calls.Add(call);
            }
        }
    }

    private sealed class ThrowingObserver : IBatonObserver
    {
        public void Serving(int generation) => throw new InvalidOperationException("broken observer");
    }
}
