using Baton.Handover;
using Baton.Interop;
using Baton.Systemd;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Baton.Tests;

/// <summary>What the coordinator's transitions tell systemd, through a notifier the test replaces.</summary>
public sealed class SystemdNotificationsTests
{
    private const int Pid = 100;
    private const long Now = 123_456_789;

    [Fact]
    public async Task A_handover_is_ready_then_reloading_then_the_successor_named_main_pid_and_nothing_after()
    {
        var notifier = new RecordingNotifier();
        var server = new FakeServer();
        var child = new FakeSuccessor(300);
        var coordinator = Create(server, new FakeLauncher().Then(child), notifier);
        coordinator.NotifyServing();

        var result = coordinator.RequestRestart();
        child.Say("ready 300 2");
        await result.WaitAsync(TimeSpan.FromSeconds(5));
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));

        // No STOPPING=1 and no STATUS= after MAINPID=: both would be taken as the service's, which the successor is now.
        Assert.Equal(
        [
            "READY=1\nSTATUS=Serving: process 100, generation 1",
            $"RELOADING=1\nMONOTONIC_USEC={Now}\nSTATUS=Handing over: process 100 starts a new process",
            "MAINPID=300\nSTATUS=Handing over to process 300",
        ], notifier.Sent);
    }

    [Fact]
    public async Task A_failed_handover_is_ready_again_with_the_reason_on_one_line()
    {
        var notifier = new RecordingNotifier();
        var child = new FakeSuccessor(301);
        var coordinator = Create(new FakeServer(), new FakeLauncher().Then(child), notifier);
        coordinator.NotifyServing();

        var result = coordinator.RequestRestart();
        child.Say("failed the database said\nSTOPPING=1");
        child.Die(new ChildExit(1, null));
        await result.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(3, notifier.Sent.Count);
        Assert.Equal(
            "READY=1\nSTATUS=Serving: process 100, generation 1; the last handover failed: new process 301 failed to start: the database said STOPPING=1 (it exited with code 1)",
            notifier.Sent[2]);
    }

    [Fact]
    public async Task A_successor_named_main_pid_that_then_cannot_be_told_go_gives_the_main_pid_back()
    {
        var notifier = new RecordingNotifier();
        var child = new FakeSuccessor(302) { CannotBeTold = true };
        var coordinator = Create(new FakeServer(), new FakeLauncher().Then(child), notifier);

        var result = coordinator.RequestRestart();
        child.Say("ready 302 2");
        child.Die(new ChildExit(null, 9));
        Assert.IsType<RestartFailed>(await result.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal("MAINPID=302\nSTATUS=Handing over to process 302", notifier.Sent[1]);
        Assert.StartsWith("MAINPID=100\nREADY=1\nSTATUS=Serving: process 100, generation 1; the last handover failed: new process 302 reported ready, then could not be told", notifier.Sent[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_real_stop_is_stopping_and_a_successor_that_gives_up_unaccepted_says_nothing()
    {
        var notifier = new RecordingNotifier();
        var server = new FakeServer();
        var coordinator = Create(server, new FakeLauncher(), notifier);
        coordinator.Stop("SIGTERM");
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["STOPPING=1\nSTATUS=Stopping: process 100 drains its connections"], notifier.Sent);

        var quiet = new RecordingNotifier();
        var unaccepted = new FakeServer { OwnsListeners = false };
        var successor = Create(unaccepted, new FakeLauncher(), quiet, generation: 2);
        successor.Stop("SIGTERM");
        unaccepted.FinishDrain();
        await successor.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Empty(quiet.Sent);
    }

    [Fact]
    public async Task A_successor_stopped_before_its_go_never_says_ready()
    {
        var notifier = new RecordingNotifier();
        var server = new FakeServer { OwnsListeners = false };
        var coordinator = Create(server, new FakeLauncher(), notifier, generation: 2);
        coordinator.OnServing();
        coordinator.Stop("SIGTERM");

        // The "go" arrives after the stop.
        coordinator.NotifyServing();
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Empty(notifier.Sent);
    }

    [Fact]
    public void A_deferred_restart_is_a_status_line_only()
    {
        var notifier = new RecordingNotifier();
        var observer = new SystemdNotifications(notifier, NullLogger.Instance, Pid, 2, () => Now);
        observer.Serving(2);
        observer.RestartDeferred(77);
        Assert.Equal("STATUS=Serving: process 100, generation 2; a restart waits until process 77 has drained", notifier.Sent[1]);
    }

    [Fact]
    public void Without_NOTIFY_SOCKET_nothing_is_sent_and_a_notifier_that_throws_is_logged_not_raised()
    {
        var disabled = new RecordingNotifier { IsEnabled = false };
        new SystemdNotifications(disabled, NullLogger.Instance, Pid, 1, () => Now).Serving(1);
        Assert.Empty(disabled.Sent);

        var logger = new RecordingLogger();
        var broken = new RecordingNotifier { Fails = true };
        var observer = new SystemdNotifications(broken, logger, Pid, 1, () => Now);
        observer.Serving(1);
        observer.RestartDeferred(77);
        Assert.Equal(
        [
            "Process 100 could not tell the service manager READY=1: Connection refused",
            "Process 100 could not tell the service manager STATUS=Serving: process 100, generation 1; a restart waits until process 77 has drained: Connection refused",
        ], logger.Lines);
    }

    [Fact]
    public void A_reason_becomes_one_printable_line_of_at_most_300_characters()
    {
        Assert.Equal("a b  c", SystemdNotifications.OneLine("a\nb\r\tc"));
        var line = SystemdNotifications.OneLine(new string('x', 1000));
        Assert.Equal(new string('x', 300) + "...", line);
    }

    [Fact]
    public void The_monotonic_clock_is_CLOCK_MONOTONIC_in_microseconds()
    {
        // Stopwatch reads CLOCK_MONOTONIC on Linux too: the two agree to well within a second.
        var ours = MonotonicClock.Microseconds();
        // In 128 bits: a nanosecond timestamp times a million overflows 64 bits after about 2.5 hours of uptime.
        var stopwatch = (long)((Int128)System.Diagnostics.Stopwatch.GetTimestamp() * 1_000_000 / System.Diagnostics.Stopwatch.Frequency);
        Assert.InRange(ours - stopwatch, -1_000_000, 1_000_000);
    }

    private static HandoverCoordinator Create(FakeServer server, FakeLauncher launcher, RecordingNotifier notifier, int generation = 1)
    {
        var observer = new SystemdNotifications(notifier, NullLogger.Instance, Pid, generation, () => Now);
        var coordinator = new HandoverCoordinator(
            server, new SuccessorLauncher(launcher, TimeProvider.System), TimeProvider.System, NullLogger.Instance, TimeSpan.FromSeconds(5),
            generation, predecessor: null, new BatonObservers([observer]));
        if (server.OwnsListeners)
        {
            coordinator.OnServing();
        }

        return coordinator;
    }

    private sealed class RecordingNotifier : ISystemdNotifier
    {
        private readonly List<string> _sent = [];

        public bool IsEnabled { get; init; } = true;

        public bool Fails { get; init; }

        public IReadOnlyList<string> Sent
        {
            get
            {
                lock (_sent)
                {
                    return [.. _sent];
                }
            }
        }

        public void Notify(ServiceState state)
        {
            if (Fails)
            {
                throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused);
            }

            lock (_sent)
            {
                _sent.Add(state.ToString());
            }
        }
    }
}
