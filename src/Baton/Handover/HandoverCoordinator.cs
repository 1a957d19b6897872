using Microsoft.Extensions.Logging;

namespace Baton.Handover;

/// <summary>Where a process is in its life. One owner (<see cref="HandoverCoordinator"/>) changes it.</summary>
internal enum BatonState
{
    Starting,
    Serving,
    HandingOver,
    Draining,
    Exited,
}

/// <summary>What the coordinator needs from the server it runs; Kestrel's glue implements it, unit tests fake it.</summary>
internal interface IServerControl
{
    IReadOnlyList<InheritedListener> Listeners { get; }

    /// <summary>
    /// False in a successor until its predecessor has said "go": until then the listening sockets are the
    /// predecessor's, and a stop here must leave them open.
    /// </summary>
    bool OwnsListeners { get; }

    /// <summary>
    /// True in a standby (Baton:Standby) until its "go": it may wait there for hours, while its predecessor serves and
    /// takes the restarts. (Another successor defers a restart in that moment, as while its predecessor drains.)
    /// </summary>
    bool StandingBy { get; }

    /// <summary>Stops taking connections. With <paramref name="keepSocketsOpen"/>, another process serves the same sockets.</summary>
    Task StopAcceptingAsync(bool keepSocketsOpen);

    Task<Draining.DrainResult> DrainAsync(CancellationToken hammer);

    /// <summary>
    /// From now on, passes each connection that is (or becomes) idle to <paramref name="successor"/> instead of
    /// closing it, where it can (see <see cref="BatonOptions.MoveIdleConnections"/>).
    /// </summary>
    void MoveConnectionsTo(ISuccessorProcess successor);

    /// <summary>How many connections were passed to the successor so far.</summary>
    int MovedConnections { get; }

    int OpenConnections { get; }

    /// <summary>Names <paramref name="successorPid"/> in the pid file (if not already), just before it is told "go".</summary>
    void HandPidFileTo(int successorPid);

    /// <summary>Puts this process back in the pid file if a successor it gave up on had already written its own.</summary>
    void ReclaimPidFile(int failedSuccessor);

    /// <summary>Asks the host to stop. After a hammer, the process ends shortly even if the host does not.</summary>
    void Exit(bool deletePidFile, bool hammered);
}

/// <summary>
/// The one owner of <see cref="BatonState"/>. Signals only post intents here (restart, stop, hammer); each intent is
/// accepted or refused by the current state, so "SIGHUP during a handover is ignored" and "SIGUSR2 while serving does
/// nothing" are one decision each.
/// </summary>
/// <remarks>
/// Serving -> HandingOver -> Draining -> Exited, with HandingOver -> Serving when the successor fails or the handover is
/// abandoned. Serving -> Draining on stop. Nothing is unbound before the successor is accepted, so a failed handover
/// leaves the process exactly as it was. Every path out of HandingOver is taken whatever throws on the way (a log
/// provider, a read, memory): the state is changed first, and side effects after it are each guarded.
/// </remarks>
internal sealed class HandoverCoordinator
{
    private static readonly TimeSpan DrainReportInterval = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();
    private readonly IServerControl _server;
    private readonly SuccessorLauncher _launcher;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _readyTimeout;
    private readonly IPredecessor? _predecessor;
    private readonly BatonObservers _observers;
    private readonly TimeSpan _drainDelay;
    private readonly StandbyKeeper? _standby;
    private readonly CancellationTokenSource _hammer = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _abandonHandover;
    private TaskCompletionSource<RestartResult>? _pendingResult;
    private BatonState _state = BatonState.Starting;
    private bool _stopAfterHandover;
    private bool _restartDeferred;
    private Task _standbyStopped = Task.CompletedTask;

    public HandoverCoordinator(
        IServerControl server,
        SuccessorLauncher launcher,
        TimeProvider time,
        ILogger logger,
        TimeSpan readyTimeout,
        int generation,
        IPredecessor? predecessor = null,
        BatonObservers? observers = null,
        TimeSpan drainDelay = default,
        StandbyKeeper? standby = null)
    {
        _standby = standby;
        _server = server;
        _launcher = launcher;
        _time = time;
        _logger = logger;
        _readyTimeout = readyTimeout;
        _predecessor = predecessor;
        _observers = observers ?? BatonObservers.None;
        _drainDelay = drainDelay;
        Generation = generation;
        _launcher.Started = childPid => Say(l => Log.SuccessorStarted(l, childPid, Environment.ProcessId));
        _launcher.Accepting = childPid =>
        {
            // A standby wrote no pid file: it was not meant to serve until now. Named here, before the log says it serves.
            Guard(() => _server.HandPidFileTo(childPid));
            _observers.Notify(o => o.HandingOverTo(childPid));
        };
        _launcher.OpenConnections = () => _server.OpenConnections;
    }

    public int Generation { get; }

    public BatonState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Completes when the process has finished draining and asked the host to stop.</summary>
    public Task Exited => _exited.Task;

    /// <summary>The background work of the current handover or drain, for tests to await.</summary>
    public Task Work { get; private set; } = Task.CompletedTask;

    /// <returns>False when a stop came first: the process is on its way out and must not announce itself.</returns>
    public bool OnServing()
    {
        lock (_gate)
        {
            if (_state == BatonState.Starting)
            {
                _state = BatonState.Serving;
            }

            return _state == BatonState.Serving;
        }
    }

    /// <summary>
    /// Tells the observers that this process now accepts connections (at start, or at "go" in a successor) - unless a
    /// stop came first: a successor stopped between its "ready" and the "go" opens no gate, and must not say READY=1.
    /// </summary>
    public void NotifyServing()
    {
        if (State == BatonState.Serving)
        {
            _observers.Notify(o => o.Serving(Generation));
        }
    }

    /// <summary>The standby's pid and whether it is ready; null when there is none (or no Baton:Standby).</summary>
    public (int Pid, bool Ready)? Standby => _standby?.Current;

    /// <summary>
    /// Starts keeping a standby (Baton:Standby), once this process serves and the process it took over from has exited:
    /// never more than two server processes, and the draining one's cores are not taken by a third's start-up.
    /// </summary>
    public void KeepStandby()
    {
        if (_standby is not { } standby)
        {
            return;
        }

        if (_predecessor is { IsAlive: true } predecessor)
        {
            predecessor.Exited.ContinueWith(_ => KeepStandby(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            return;
        }

        lock (_gate)
        {
            if (_state != BatonState.Serving)
            {
                return;
            }
        }

        standby.Start();
    }

    public void Restart() => _ = RequestRestart();

    /// <summary>A restart, and what became of it: at once when it is deferred or refused, else when the handover ends.</summary>
    public Task<RestartResult> RequestRestart() => Restart(deferred: false);

    private Task<RestartResult> Restart(bool deferred)
    {
        lock (_gate)
        {
            if (_state != BatonState.Serving)
            {
                var state = _state;
                Say(l => Log.RestartIgnored(l, Environment.ProcessId, state));
                return Task.FromResult<RestartResult>(new RestartRefused(state));
            }

            if (_server.StandingBy)
            {
                // Its predecessor serves, and restarts: a restart deferred here would run after the next handover.
                Say(l => Log.RestartBeforeGo(l, Environment.ProcessId, _predecessor?.Pid ?? 0));
                return Task.FromResult<RestartResult>(new RestartRefused(BatonState.Starting));
            }

            if (_predecessor is { IsAlive: true } predecessor)
            {
                // At most two server processes: this one and the one it took over from. A restart now would start a
                // third while the predecessor still holds its memory and connections; it starts once it has exited.
                var connections = predecessor.OpenConnections;
                Say(l => Log.RestartDeferred(l, Environment.ProcessId, predecessor.Pid, connections is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "its"));
                if (!_restartDeferred)
                {
                    _restartDeferred = true;
                    predecessor.Exited.ContinueWith(_ => RunDeferredRestart(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                }

                _observers.Notify(o => o.RestartDeferred(predecessor.Pid));
                return Task.FromResult<RestartResult>(new RestartDeferred(predecessor.Pid, connections));
            }

            _state = BatonState.HandingOver;
            _stopAfterHandover = false;
            _abandonHandover = new CancellationTokenSource();
            var abandon = _abandonHandover.Token;
            if (deferred)
            {
                Say(l => Log.DeferredRestartStarting(l, Environment.ProcessId, _predecessor!.Pid));
            }
            else
            {
                Say(l => Log.RestartRequested(l, Environment.ProcessId));
            }

            _pendingResult = new TaskCompletionSource<RestartResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var result = _pendingResult.Task;
            _observers.Notify(o => o.HandoverStarting());
            Work = Task.Factory.StartNew(() => RunHandover(abandon), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
            return result;
        }
    }

    public void Stop(string reason)
    {
        lock (_gate)
        {
            _restartDeferred = false;
            switch (_state)
            {
                case BatonState.Starting or BatonState.Serving:
                    Say(l => Log.StopRequested(l, Environment.ProcessId, reason));
                    _state = BatonState.Draining;
                    StopStandby();
                    Work = DrainAndExitAsync(handedOver: false);
                    return;
                case BatonState.HandingOver:
                    // The service stops: the starting process is abandoned (killed and reaped within a second), then
                    // this one drains. Should it have been accepted already, it is told to stop too.
                    Say(l => Log.StopDuringHandover(l, Environment.ProcessId, reason));
                    _stopAfterHandover = true;
                    _abandonHandover?.Cancel();
                    return;
                default:
                    var state = _state;
                    Say(l => Log.StopIgnored(l, Environment.ProcessId, reason, state));
                    return;
            }
        }
    }

    public void Hammer()
    {
        lock (_gate)
        {
            switch (_state)
            {
                case BatonState.Draining:
                    break;
                case BatonState.HandingOver:
                    // Hammer cuts short what is in progress: here, the handover. The new process is killed; this one
                    // serves on (unless a stop is pending, which then drains with the hammer already down).
                    Say(l => Log.HandoverAbandoned(l, Environment.ProcessId));
                    _abandonHandover?.Cancel();
                    if (_stopAfterHandover)
                    {
                        _hammer.Cancel();
                    }

                    return;
                default:
                    var state = _state;
                    Say(l => Log.HammerIgnored(l, Environment.ProcessId, state));
                    return;
            }
        }

        Say(l => Log.Hammering(l, Environment.ProcessId, _server.OpenConnections));
        _hammer.Cancel();
    }

    private void RunDeferredRestart()
    {
        lock (_gate)
        {
            if (!_restartDeferred)
            {
                return;
            }

            _restartDeferred = false;
        }

        _ = Restart(deferred: true);
    }

    private async Task RunHandover(CancellationToken abandon)
    {
        HandoverOutcome outcome;
        var fromStandby = false;
        try
        {
            var start = _time.GetTimestamp();
            var promoted = _standby?.TakeForHandover(start, abandon);
            fromStandby = promoted is not null;
            outcome = promoted ?? _launcher.Run(_server.Listeners, Generation + 1, _readyTimeout, abandon);
        }
        catch (Exception ex)
        {
            // The launcher kills and reaps its child on every path; what is left to guard is this process's state.
            outcome = new HandoverFailed(null, $"the handover broke ({ex.GetType().Name}: {ex.Message})", TimeSpan.Zero);
        }

        if (outcome is HandoverSucceeded ready)
        {
            bool stop;
            lock (_gate)
            {
                _state = BatonState.Draining;
                stop = _stopAfterHandover;
                StopStandby();
            }

            Say(l => Log.SuccessorReady(l, ready.Pid, ready.Generation, (long)ready.Elapsed.TotalMilliseconds, Environment.ProcessId));
            _observers.Notify(o => o.HandoverSucceeded(ready.Pid, ready.Generation, ready.Elapsed));
            _pendingResult?.TrySetResult(new RestartSucceeded(ready.Pid, ready.Generation, ready.Elapsed));
            if (stop)
            {
                Say(l => Log.ForwardingStop(l, Environment.ProcessId, ready.Pid));
                Guard(() => _launcher.RequestStop(ready.Pid));
            }

            await DrainAndExitAsync(handedOver: true, ready.Successor).ConfigureAwait(false);
            return;
        }

        var failed = (HandoverFailed)outcome;
        bool stopNow;
        lock (_gate)
        {
            _state = BatonState.Serving;
            stopNow = _stopAfterHandover;
        }

        _standby?.HandoverFailed(newProcessFailed: !fromStandby);
        Say(l => Log.HandoverFailed(l, Environment.ProcessId, failed.Reason));
        _observers.Notify(o => o.HandoverFailed(failed.Reason, failed.Elapsed));
        _pendingResult?.TrySetResult(new RestartFailed(failed.Reason, failed.Elapsed));
        if (failed.Pid is { } failedPid)
        {
            Guard(() => _server.ReclaimPidFile(failedPid));
        }

        if (stopNow)
        {
            Stop("a stop requested during the handover");
        }
        else
        {
            // Serving again: keeps a standby (also where the first one was due as this handover began, and waited).
            KeepStandby();
        }
    }

    private async Task DrainAndExitAsync(bool handedOver, ISuccessorProcess? successor = null)
    {
        var hammered = false;
        try
        {
            // A successor that was never told "go" does not own its sockets: its predecessor serves on them.
            var keepSocketsOpen = handedOver || !_server.OwnsListeners;
            if (!keepSocketsOpen)
            {
                _observers.Notify(o => o.Stopping());
                if (_drainDelay > TimeSpan.Zero)
                {
                    // Unready first (Draining), still accepting: a load balancer removes this instance before any
                    // client is refused. SIGUSR2 cuts the wait short.
                    Say(l => Log.DrainDelay(l, Environment.ProcessId, (long)_drainDelay.TotalMilliseconds));
                    await Task.Delay(_drainDelay, _time, _hammer.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }

            await _server.StopAcceptingAsync(keepSocketsOpen).ConfigureAwait(false);
            Say(l => Log.ListenerClosed(l, Environment.ProcessId, keepSocketsOpen));
            if (handedOver && successor is not null)
            {
                Guard(() => _server.MoveConnectionsTo(successor));
            }

            var start = _time.GetTimestamp();
            Say(l => Log.WaitingForConnections(l, Environment.ProcessId, _server.OpenConnections));
            _observers.Notify(o => o.Draining(handedOver));
            using var watch = new CancellationTokenSource();
            var watching = successor is null ? Task.CompletedTask : WatchSuccessorAsync(successor, watch.Token);
            var result = await _server.DrainAsync(_hammer.Token).ConfigureAwait(false);
            watch.Cancel();
            await watching.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            hammered = result is Draining.DrainResult.Hammered or Draining.DrainResult.HammerTimeElapsed;
            var elapsed = _time.GetElapsedTime(start);
            if (successor is not null && _server.MovedConnections is var moved and > 0)
            {
                Say(l => Log.ConnectionsMoved(l, Environment.ProcessId, moved, successor.Pid));
            }

            Say(l => Log.Drained(l, Environment.ProcessId, result, (long)elapsed.TotalMilliseconds, _server.OpenConnections));
            _observers.Notify(o => o.Drained(result, elapsed));
        }
        catch (Exception ex)
        {
            Say(l => Log.DrainFailed(l, Environment.ProcessId, ex));
        }
        finally
        {
            lock (_gate)
            {
                _state = BatonState.Exited;
            }

            // A standby sees end of file when this process exits: gone before, it cannot take that for a crash, and serve.
            await _standbyStopped.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Say(l => Log.Exiting(l, Environment.ProcessId));
            Guard(() => _server.Exit(deletePidFile: !handedOver, hammered));
            _exited.TrySetResult();
        }
    }

    /// <summary>
    /// While this process drains: tells the successor how many connections are left (it names them when it defers a
    /// restart), and reaps it should it die - loudly, since nothing accepts on the listeners then.
    /// </summary>
    private async Task WatchSuccessorAsync(ISuccessorProcess successor, CancellationToken stop)
    {
        var reported = -1;
        while (!stop.IsCancellationRequested)
        {
            var open = _server.OpenConnections;
            if (open != reported)
            {
                successor.ReportDraining(open);
                reported = open;
            }

            if (successor.TryReap() is { } exit)
            {
                Say(l => Log.SuccessorDied(l, successor.Pid, exit.ToString(), Environment.ProcessId));
                return;
            }

            await Task.Delay(DrainReportInterval, _time, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Under <see cref="_gate"/>: no standby from now on, and the one there is stops.</summary>
    private void StopStandby()
    {
        if (_standby is { } standby)
        {
            _standbyStopped = standby.StopAsync();
        }
    }

    /// <summary>A log line that fails (a broken provider) must not take the state machine with it.</summary>
    private void Say(Action<ILogger> log) => Guard(() => log(_logger));

    private static void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (Exception)
        {
            // Deliberately dropped: see the remarks on the class. The state is already where it must be.
        }
    }
}
