using Microsoft.Extensions.Logging;

namespace Baton.Handover;

/// <summary>
/// The serving process's side of Baton:Standby: keeps one successor started ahead of any SIGHUP, ready and waiting for
/// its "go", so that a SIGHUP hands over in the time a "go" takes instead of a whole start-up (under the JIT, most of it
/// compiling on the cores the serving process needs).
/// </summary>
/// <remarks>
/// <para>A standby read its configuration, certificates and app files when it started, so it is only handed over to
/// while none of them changed since: a snapshot of them (see <see cref="IStandbyWatch"/>) taken just before it was
/// started must equal one taken at the SIGHUP. Otherwise the SIGHUP starts a new process as without a standby, and
/// the stale standby is stopped. In between, the files are looked at every <see cref="PollInterval"/>: a change
/// replaces the standby once the files have stopped changing, so that the next SIGHUP finds a fresh one.</para>
/// <para>A standby that fails to start says why at once, loudly - a SIGHUP now would fail the same way - and another
/// is tried when the files change, or after <see cref="RetryAfterFailure"/>. A standby is stopped with SIGTERM (it
/// never accepted anything) and its channel closed only once it has been reaped: one that saw end of file before its
/// "go" would take its parent for dead, and serve.</para>
/// </remarks>
internal sealed class StandbyKeeper
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(60);

    private readonly Lock _gate = new();
    private readonly SuccessorLauncher _launcher;
    private readonly IStandbyWatch _watch;
    private readonly Func<IReadOnlyList<InheritedListener>> _listeners;
    private readonly int _generation;
    private readonly TimeSpan _readyTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _stops = [];
    private Standby? _current;
    private StandbySnapshot? _settling;
    private StandbySnapshot? _failedWith;
    private long _failedAt;
    private bool _started;
    private bool _handingOver;

    public StandbyKeeper(
        SuccessorLauncher launcher, IStandbyWatch watch, Func<IReadOnlyList<InheritedListener>> listeners, int generation, TimeSpan readyTimeout, TimeProvider time, ILogger logger)
    {
        _launcher = launcher;
        _watch = watch;
        _listeners = listeners;
        _generation = generation;
        _readyTimeout = readyTimeout;
        _time = time;
        _logger = logger;
    }

    /// <summary>The standby's pid and whether it is ready; null when there is none.</summary>
    public (int Pid, bool Ready)? Current
    {
        get
        {
            lock (_gate)
            {
                return _current is { } standby ? (standby.Child.Pid, standby.Verdict.IsCompletedSuccessfully && standby.Verdict.Result is ReadyVerdict) : null;
            }
        }
    }

    /// <summary>The loop that keeps a standby, for tests to await after <see cref="StopAsync"/>.</summary>
    public Task Loop { get; private set; } = Task.CompletedTask;

    /// <summary>Starts a standby now and keeps one from then on. Once only; nothing after <see cref="StopAsync"/>.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_started || _stopping.IsCancellationRequested)
            {
                return;
            }

            _started = true;
        }

        Say(l => Log.StandbyWatching(
            l, Environment.ProcessId, _watch.Take().Count, Interop.FileIdentity.HasStatx ? "statx: inode, size, modification and change times" : "size and modification time"));

        Loop = Task.Run(KeepAsync);
    }

    /// <summary>One look at the files and the standby (the loop's step; tests call it directly).</summary>
    public void Tick()
    {
        Standby? died = null;
        lock (_gate)
        {
            // During a handover nothing is started: the standby was taken, and a new one now would be a third process.
            if (_stopping.IsCancellationRequested || _handingOver)
            {
                return;
            }

            var now = _watch.Take();
            if (_current is { } standby)
            {
                if (now.ChangeSince(standby.Snapshot) is { } change)
                {
                    _current = null;
                    _settling = now;
                    Say(l => Log.StandbyOutOfDate(l, standby.Child.Pid, change, Environment.ProcessId));
                    Discard(standby);
                }
                else if (standby.Verdict.IsCompletedSuccessfully && standby.Verdict.Result is ReadyVerdict && standby.Child.Read(TimeSpan.Zero).IsEndOfFile)
                {
                    _current = null;
                    _failedWith = standby.Snapshot;
                    _failedAt = _time.GetTimestamp();
                    died = standby;
                }

                if (died is null)
                {
                    return;
                }
            }
            else if (_settling is { } settling)
            {
                // Files that changed at the last look: a deploy may still be copying. Start once they hold still.
                _settling = now.ChangeSince(settling) is null ? null : now;
                if (_settling is null)
                {
                    Spawn(now);
                }

                return;
            }
            else if (_failedWith is { } failed)
            {
                if (now.ChangeSince(failed) is not null)
                {
                    _failedWith = null;
                    _settling = now;
                }
                else if (_time.GetElapsedTime(_failedAt) >= RetryAfterFailure)
                {
                    _failedWith = null;
                    Spawn(now);
                }

                return;
            }
            else
            {
                Spawn(now);
                return;
            }
        }

        var exit = _launcher.ReapIfGone(died.Child);
        var words = died.Child.LastWords();
        died.Child.Dispose();
        Say(l => Log.StandbyDied(l, died.Child.Pid, exit + (words is null ? string.Empty : ": " + words), Environment.ProcessId, (long)RetryAfterFailure.TotalSeconds));
    }

    /// <summary>
    /// At a SIGHUP: the standby, told "go" - or null when there is none to use (none, out of date, failed, gone), in
    /// which case the caller starts a new process as usual. A standby still starting is waited for (it read the same
    /// files, and is further along than a new one would be).
    /// </summary>
    public HandoverOutcome? TakeForHandover(long handoverStart, CancellationToken abandon)
    {
        Standby? standby;
        lock (_gate)
        {
            standby = _current;
            _current = null;
            _settling = null;
            _handingOver = true;
        }

        if (standby is null)
        {
            return null;
        }

        var pid = standby.Child.Pid;
        if (_watch.Take().ChangeSince(standby.Snapshot) is { } change)
        {
            Say(l => Log.StandbyNotUsed(l, pid, change, Environment.ProcessId));
            Discard(standby);
            return null;
        }

        // From now on it is waited for, or about to serve: at its parent's priority, not the one it stood by at.
        standby.Child.Hurry();
        if (!standby.Verdict.IsCompleted)
        {
            Say(l => Log.WaitingForStandby(l, pid, Environment.ProcessId));
        }

        HandoverOutcome verdict;
        using (abandon.Register(standby.Abandon.Cancel))
        {
            verdict = standby.Verdict.GetAwaiter().GetResult();
        }

        if (verdict is HandoverFailed failed)
        {
            if (abandon.IsCancellationRequested)
            {
                return new HandoverFailed(pid, failed.Reason, _time.GetElapsedTime(handoverStart));
            }

            Say(l => Log.StandbyFailedAtRestart(l, pid, failed.Reason, Environment.ProcessId));
            return null;
        }

        if (standby.Child.Read(TimeSpan.Zero).IsEndOfFile)
        {
            var exit = _launcher.ReapIfGone(standby.Child);
            standby.Child.Dispose();
            Say(l => Log.StandbyFailedAtRestart(l, pid, "it " + exit + " while it stood by", Environment.ProcessId));
            return null;
        }

        var readyFor = _time.GetElapsedTime(standby.ReadyAt);
        Say(l => Log.HandingOverToStandby(l, Environment.ProcessId, pid, (long)readyFor.TotalSeconds));
        return _launcher.Promote(standby.Child, ((ReadyVerdict)verdict).Message, handoverStart, abandon);
    }

    /// <summary>
    /// A handover failed: this process serves on, and keeps a standby again. When it had started a new process (not the
    /// standby), the next standby would fail the same way until the files change.
    /// </summary>
    public void HandoverFailed(bool newProcessFailed)
    {
        lock (_gate)
        {
            _handingOver = false;
            if (newProcessFailed)
            {
                _failedWith = _watch.Take();
                _failedAt = _time.GetTimestamp();
            }
        }
    }

    /// <summary>Stops keeping a standby, and stops the one there is; completes once every standby stopped is reaped.</summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            _stopping.Cancel();
            if (_current is { } standby)
            {
                _current = null;
                Discard(standby);
            }

            return Task.WhenAll([.. _stops]);
        }
    }

    private async Task KeepAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                Tick();
            }
            catch (Exception ex)
            {
                // A standby is an optimisation: whatever breaks here must not touch the process that serves.
                Say(l => Log.StandbyBroke(l, Environment.ProcessId, ex));
            }

            await Task.Delay(PollInterval, _time, _stopping.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Starts a standby; under <see cref="_gate"/>.</summary>
    private void Spawn(StandbySnapshot snapshot)
    {
        var start = _time.GetTimestamp();
        if (_launcher.Launch(_listeners(), _generation + 1, standby: true) is not { } child)
        {
            _failedWith = snapshot;
            _failedAt = start;
            var reason = "it could not be started: " + _launcher.LaunchFailure;
            Say(l => Log.StandbyFailed(l, 0, reason, Environment.ProcessId, (long)RetryAfterFailure.TotalSeconds));
            return;
        }

        Say(l => Log.StandbyStarting(l, Environment.ProcessId, child.Pid, _generation + 1));
        var standby = new Standby(child, snapshot);
        _current = standby;
        standby.Verdict = Task.Factory.StartNew(
            () =>
            {
                var verdict = _launcher.AwaitReady(child, start, _readyTimeout, standby.Abandon.Token);
                lock (_gate)
                {
                    standby.ReadyAt = _time.GetTimestamp();
                    if (_current != standby)
                    {
                        // Taken by a SIGHUP, or discarded: whoever has it now says what became of it.
                        return verdict;
                    }

                    if (verdict is HandoverFailed failed)
                    {
                        _current = null;
                        _failedWith = snapshot;
                        _failedAt = _time.GetTimestamp();
                        Say(l => Log.StandbyFailed(l, child.Pid, failed.Reason, Environment.ProcessId, (long)RetryAfterFailure.TotalSeconds));
                    }
                    else
                    {
                        Say(l => Log.StandbyReady(l, child.Pid, (long)verdict.Elapsed.TotalMilliseconds, Environment.ProcessId));
                    }
                }

                return verdict;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    /// <summary>Stops a standby no longer wanted, in the background; under <see cref="_gate"/>.</summary>
    private void Discard(Standby standby)
    {
        standby.Abandon.Cancel();
        var stopping = standby.Verdict.ContinueWith(
            verdict =>
            {
                // One still starting was killed and reaped by its wait (abandoned); a ready one is stopped here.
                if (verdict.IsCompletedSuccessfully && verdict.Result is ReadyVerdict)
                {
                    var exit = _launcher.StopAndReap(standby.Child);
                    Say(l => Log.StandbyStopped(l, standby.Child.Pid, exit, Environment.ProcessId));
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.LongRunning,
            TaskScheduler.Default);
        _stops.RemoveAll(task => task.IsCompleted);
        _stops.Add(stopping);
    }

    private void Say(Action<ILogger> log)
    {
        try
        {
            log(_logger);
        }
        catch (Exception)
        {
            // A broken log provider must not take the standby's bookkeeping with it.
        }
    }

    private sealed class Standby(ISuccessorProcess child, StandbySnapshot snapshot)
    {
        public ISuccessorProcess Child { get; } = child;

        public StandbySnapshot Snapshot { get; } = snapshot;

        /// <summary>Cancels the wait for its "ready" (then it is killed and reaped).</summary>
        public CancellationTokenSource Abandon { get; } = new();

        public Task<HandoverOutcome> Verdict { get; set; } = Task.FromResult<HandoverOutcome>(new HandoverFailed(null, "not started", TimeSpan.Zero));

        public long ReadyAt { get; set; }
    }
}
