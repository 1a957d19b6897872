using Baton.Draining;
using Baton.Handover;
using Baton.Interop;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Baton.Tests;

/// <summary>When the drain signal fires: after a handover's "go" and on a stop, never for a handover that is only attempted.</summary>
public sealed class DrainSignalTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_handover_fires_the_signal_only_once_the_successor_was_accepted()
    {
        var signal = new DrainSignal(NullLogger.Instance);
        var server = new FakeServer();
        var child = new FakeSuccessor(300);
        var coordinator = Create(server, new FakeLauncher().Then(child), signal);

        var result = coordinator.RequestRestart();
        Assert.Equal(BatonState.HandingOver, coordinator.State);
        Assert.False(signal.IsDraining);

        child.Say("ready 300 2");
        Assert.IsType<RestartSucceeded>(await result.WaitAsync(Wait));
        await WaitUntilCancelledAsync(signal.Draining);
        Assert.True(signal.IsDraining);
        lock (server.Calls)
        {
            // Fired after this process stopped accepting: a client told to reconnect can only reach the successor.
            Assert.Equal("stop accepting (sockets kept open)", server.Calls[0]);
        }

        server.FinishDrain();
        await coordinator.Exited.WaitAsync(Wait);
    }

    [Fact]
    public async Task A_failed_handover_does_not_fire_the_signal()
    {
        var signal = new DrainSignal(NullLogger.Instance);
        var child = new FakeSuccessor(301);
        var coordinator = Create(new FakeServer(), new FakeLauncher().Then(child), signal);

        var result = coordinator.RequestRestart();
        child.Die(new ChildExit(3, null));
        Assert.IsType<RestartFailed>(await result.WaitAsync(Wait));
        await coordinator.Work.WaitAsync(Wait);

        Assert.Equal(BatonState.Serving, coordinator.State);
        Assert.False(signal.IsDraining);
        Assert.False(signal.Draining.IsCancellationRequested);
    }

    [Fact]
    public async Task A_stop_fires_the_signal_once_DrainDelay_is_over_and_the_process_stopped_accepting()
    {
        var signal = new DrainSignal(NullLogger.Instance);
        var server = new FakeServer();
        var coordinator = Create(server, new FakeLauncher(), signal, drainDelay: TimeSpan.FromMilliseconds(300));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        coordinator.Stop("SIGTERM");
        Assert.False(signal.IsDraining);
        await WaitUntilCancelledAsync(signal.Draining);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(280), $"fired after {clock.ElapsedMilliseconds} ms, inside DrainDelay");
        lock (server.Calls)
        {
            Assert.Equal("stop accepting", server.Calls[0]);
        }

        server.FinishDrain();
        await coordinator.Exited.WaitAsync(Wait);
    }

    [Fact]
    public async Task Callbacks_run_off_the_draining_thread_and_one_that_throws_is_logged_and_stops_nothing()
    {
        var logger = new RecordingLogger();
        var signal = new DrainSignal(logger);
        var blocked = new ManualResetEventSlim();
        var ran = new List<string>();
        signal.Draining.Register(() => blocked.Wait(Wait));
        signal.Draining.Register(() => throw new InvalidOperationException("a broken handler"));
        signal.Draining.Register(() =>
        {
            lock (ran)
            {
                ran.Add("second");
            }
        });

        // A callback that blocks does not hold the caller (the coordinator's transition).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ((IBatonObserver)signal).Draining(handedOver: true);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the observer call took {clock.ElapsedMilliseconds} ms");
        Assert.True(signal.IsDraining);
        blocked.Set();

        await signal.Fire().WaitAsync(Wait);
        await WaitUntilCancelledAsync(signal.Draining);
        while (!logger.Lines.Any(l => l.Contains("callback(s) on the drain signal", StringComparison.Ordinal)))
        {
            await Task.Delay(10);
        }

        lock (ran)
        {
            Assert.Equal(["second"], ran);
        }

        Assert.Single(logger.Lines);
    }

    [Fact]
    public void Without_Baton_the_signal_follows_ApplicationStopping()
    {
        var lifetime = new FakeLifetime();
        var services = new ServiceCollection();
        services.AddSingleton<IHostApplicationLifetime>(lifetime);
        services.AddBatonDrainSignal();
        using var provider = services.BuildServiceProvider();
        var signal = provider.GetRequiredService<IBatonDrainSignal>();

        Assert.False(signal.IsDraining);
        lifetime.StopApplication();
        Assert.True(signal.IsDraining);
        Assert.True(signal.Draining.IsCancellationRequested);
    }

    [Fact]
    public void AddBatonDrainSignal_keeps_a_signal_registered_before_it()
    {
        using var manual = new ManualDrainSignal();
        var services = new ServiceCollection();
        services.AddSingleton<IBatonDrainSignal>(manual);
        services.AddBatonDrainSignal();
        using var provider = services.BuildServiceProvider();
        Assert.Same(manual, provider.GetRequiredService<IBatonDrainSignal>());
    }

    [Fact]
    public void The_manual_signal_drains_when_told_to()
    {
        using var signal = new ManualDrainSignal();
        var seen = 0;
        signal.Draining.Register(() => seen++);
        Assert.False(signal.IsDraining);

        signal.StartDraining();
        signal.StartDraining();
        Assert.True(signal.IsDraining);
        Assert.Equal(1, seen);
    }

    private static async Task WaitUntilCancelledAsync(CancellationToken token)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = token.Register(() => cancelled.TrySetResult());
        await cancelled.Task.WaitAsync(Wait);
    }

    private static HandoverCoordinator Create(FakeServer server, FakeLauncher launcher, DrainSignal signal, TimeSpan drainDelay = default)
    {
        var coordinator = new HandoverCoordinator(
            server, new SuccessorLauncher(launcher, TimeProvider.System), TimeProvider.System, NullLogger.Instance, TimeSpan.FromSeconds(5),
            generation: 1, predecessor: null, new BatonObservers([signal]), drainDelay);
        coordinator.OnServing();
        return coordinator;
    }

    private sealed class FakeLifetime : IHostApplicationLifetime
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => _stopping.Cancel();
    }
}
