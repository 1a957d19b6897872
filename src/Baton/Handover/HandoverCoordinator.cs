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

    Task StopAcceptingAsync(bool handedOver);

    Task<Draining.DrainResult> DrainAsync(CancellationToken hammer);

    int OpenConnections { get; }

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
/// Serving -> HandingOver -> Draining -> Exited, with HandingOver -> Serving when the successor fails. Serving ->
/// Draining on stop. Nothing is unbound before the successor reports ready, so a failed handover leaves the process
/// exactly as it was.
/// </remarks>
internal sealed class HandoverCoordinator
{
    private readonly object _gate = new();
    private readonly IServerControl _server;
    private readonly SuccessorLauncher _launcher;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _readyTimeout;
    private readonly CancellationTokenSource _hammer = new();
    private readonly CancellationTokenSource _abandonHandover = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private BatonState _state = BatonState.Starting;
    private bool _stopAfterHandover;

    public HandoverCoordinator(IServerControl server, SuccessorLauncher launcher, TimeProvider time, ILogger logger, TimeSpan readyTimeout, int generation)
    {
        _server = server;
        _launcher = launcher;
        _time = time;
        _logger = logger;
        _readyTimeout = readyTimeout;
        Generation = generation;
        _launcher.Started = childPid => Log.SuccessorStarted(_logger, childPid, Environment.ProcessId);
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

    public void Restart()
    {
        lock (_gate)
        {
            if (_state != BatonState.Serving)
            {
                Log.RestartIgnored(_logger, Environment.ProcessId, _state);
                return;
            }

            _state = BatonState.HandingOver;
            Log.RestartRequested(_logger, Environment.ProcessId);
            Work = Task.Factory.StartNew(RunHandover, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }
    }

    public void Stop(string signal)
    {
        lock (_gate)
        {
            switch (_state)
            {
                case BatonState.Starting:
                    Log.StopRequested(_logger, Environment.ProcessId, signal);
                    _state = BatonState.Exited;
                    _server.Exit(deletePidFile: false, hammered: false);
                    _exited.TrySetResult();
                    return;
                case BatonState.Serving:
                    Log.StopRequested(_logger, Environment.ProcessId, signal);
                    _state = BatonState.Draining;
                    Work = DrainAndExitAsync(handedOver: false);
                    return;
                case BatonState.HandingOver:
                    // Stopping means the service stops: let the handover finish (it may already serve requests), then
                    // stop whichever process serves.
                    Log.StopDuringHandover(_logger, Environment.ProcessId, signal);
                    _stopAfterHandover = true;
                    return;
                default:
                    Log.StopIgnored(_logger, Environment.ProcessId, signal, _state);
                    return;
            }
        }
    }

    public void Hammer()
    {
        lock (_gate)
        {
            if (_state != BatonState.Draining)
            {
                Log.HammerIgnored(_logger, Environment.ProcessId, _state);
                return;
            }
        }

        Log.Hammering(_logger, Environment.ProcessId, _server.OpenConnections);
        _hammer.Cancel();
    }

    private async Task RunHandover()
    {
        var listeners = _server.Listeners;
        var outcome = _launcher.Run(listeners, Generation + 1, _readyTimeout, _abandonHandover.Token);
        switch (outcome)
        {
            case HandoverFailed failed:
                Log.HandoverFailed(_logger, Environment.ProcessId, failed.Reason);
                if (failed.Pid is { } failedPid)
                {
                    _server.ReclaimPidFile(failedPid);
                }

                bool stop;
                lock (_gate)
                {
                    _state = BatonState.Serving;
                    stop = _stopAfterHandover;
                }

                if (stop)
                {
                    Stop("a stop signal received during the handover");
                }

                return;
            case HandoverSucceeded ready:
                Log.SuccessorReady(_logger, ready.Pid, ready.Generation, (long)ready.Elapsed.TotalMilliseconds, Environment.ProcessId);
                lock (_gate)
                {
                    _state = BatonState.Draining;
                    if (_stopAfterHandover)
                    {
                        Log.ForwardingStop(_logger, Environment.ProcessId, ready.Pid);
                        _launcher.RequestStop(ready.Pid);
                    }
                }

                await DrainAndExitAsync(handedOver: true).ConfigureAwait(false);
                return;
        }
    }

    private async Task DrainAndExitAsync(bool handedOver)
    {
        var hammered = false;
        try
        {
            await _server.StopAcceptingAsync(handedOver).ConfigureAwait(false);
            Log.ListenerClosed(_logger, Environment.ProcessId, handedOver);
            var start = _time.GetTimestamp();
            Log.WaitingForConnections(_logger, Environment.ProcessId, _server.OpenConnections);
            var result = await _server.DrainAsync(_hammer.Token).ConfigureAwait(false);
            hammered = result is Draining.DrainResult.Hammered or Draining.DrainResult.HammerTimeElapsed;
            Log.Drained(_logger, Environment.ProcessId, result, (long)_time.GetElapsedTime(start).TotalMilliseconds, _server.OpenConnections);
        }
        finally
        {
            lock (_gate)
            {
                _state = BatonState.Exited;
            }

            Log.Exiting(_logger, Environment.ProcessId);
            _server.Exit(deletePidFile: !handedOver, hammered);
            _exited.TrySetResult();
        }
    }
}
