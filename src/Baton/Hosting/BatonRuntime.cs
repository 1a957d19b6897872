using Baton.Draining;
using Baton.Handover;
using Baton.Interop;
using Baton.Kestrel;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Hosting;

/// <summary>
/// Ties the pieces together inside one process: announces the process once Kestrel serves (hook, pid file, "ready"
/// to the parent), gives the coordinator its view of the server (listeners, stop accepting, drain, exit), and turns
/// a stop the app asks for (<see cref="IHostApplicationLifetime.StopApplication"/>) into the same drain as SIGTERM.
/// </summary>
internal sealed class BatonRuntime : IServerControl, IHostedLifecycleService, Control.IControlTarget
{
    /// <summary>How long after it begins serving a process compiles Baton's code: past the busiest moment of a handover.</summary>
    private static readonly TimeSpan PreparationDelay = TimeSpan.FromSeconds(1);

    /// <summary>How long a warm-up's rehearsal of a connection move may take (it takes milliseconds).</summary>
    private static readonly TimeSpan MoveRehearsalTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan HammerExitGrace = TimeSpan.FromSeconds(1);

    /// <summary>When a process that took its priority back at "go" looks once more for a thread that started with the lowered one.</summary>
    private static readonly TimeSpan StragglerLook = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// A standby's warm-up rounds before "ready": it has time to spare before its "go". The JIT's promotions to
    /// optimised code mostly come later (see <see cref="KeepWarmingAsync"/>).
    /// </summary>
    private const int StandbyWarmUpRounds = 20;

    /// <summary>
    /// A standby that waits goes on warming up until the JIT has had nothing to compile for this many rounds in a row
    /// (and <see cref="StandbyQuietTime"/>): enough calls for a hot method's two promotions (instrumented, then
    /// optimised; 30 calls each, two requests a path a round) to have come and been compiled.
    /// </summary>
    private const int StandbyQuietRounds = 40;

    private static readonly TimeSpan StandbyQuietTime = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a standby may go on warming up while it waits, at most.</summary>
    private static readonly TimeSpan StandbyWarmingLimit = TimeSpan.FromSeconds(30);

    private readonly BatonProcess _process;
    private readonly ListenerRegistry _registry;
    private readonly DrainController _drain;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly IServer _server;
    private readonly ILogger _logger;
    private readonly BatonOptions _options;
    private readonly PidFile? _pidFile;
    private readonly Control.ControlServer? _control;
    private readonly DateTimeOffset _startedAt = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();

    private readonly IServiceProvider _services;
    private readonly ConnectionTracker _connections;
    private readonly ConnectionMover _mover;
    private readonly IOptions<BatonOptions> _batonOptions;
    private readonly ILoggerFactory _loggerFactory;
    private readonly StartupTimeline _timeline;

    // A standby's: what its warm-up requested, to go on with while it waits; and "go" or a stop, which end that.
    private (WarmUpTarget Target, IReadOnlyList<string> Paths, TimeSpan HeadWait)? _warmUpPlan;
    private readonly CancellationTokenSource _warmingEnds = new();
    private volatile bool _accepted;
    private bool _niceLeftOutSaid;
    private int _moveRehearsed;
    private bool _standbyNiceLeftOutSaid;

    public BatonRuntime(
        BatonProcess process,
        ListenerRegistry registry,
        DrainController drain,
        IHostApplicationLifetime lifetime,
        IServer server,
        IOptions<BatonOptions> options,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        IEnumerable<IBatonObserver> observers,
        IServiceProvider services,
        ConnectionTracker connections,
        ConnectionMover mover,
        StartupTimeline timeline)
    {
        _timeline = timeline;
        _batonOptions = options;
        _loggerFactory = loggerFactory;
        _connections = connections;
        _mover = mover;
        _services = services;
        _process = process;
        _registry = registry;
        _drain = drain;
        _lifetime = lifetime;
        _server = server;
        _options = options.Value;
        _logger = loggerFactory.CreateLogger("Baton");
        _pidFile = string.IsNullOrEmpty(_options.PidFile) ? null : new PidFile(_options.PidFile);
        _accepted = process.Successor is null;
        _control = _pidFile is null ? null : OpenControl(Control.ControlProtocol.SocketPathFor(_pidFile.Path));
        var passedOn = new PassedOn(() => _control?.Descriptor ?? -1, process.Supervisor?.Descriptor ?? -1);
        var launcher = new SuccessorLauncher(
            new SpawningLauncher(process.Command, process.Streams, passedOn, LoweredPriority), time);
        IEnumerable<IBatonObserver> own = [.. new IBatonObserver?[] { _control, process.Supervisor }.OfType<IBatonObserver>()];
        var standbyKeeper = _options.Standby
            ? new StandbyKeeper(launcher, CreateStandbyWatch(), () => _registry.Snapshot(), process.Generation, _options.ReadyTimeout, time, _logger)
            : null;
        Coordinator = new HandoverCoordinator(
            this, launcher, time, _logger, _options.ReadyTimeout, process.Generation, process.Successor, new BatonObservers(own.Concat(observers)), _options.DrainDelay, standbyKeeper);
        _control?.AttachTo(this);
    }

    public HandoverCoordinator Coordinator { get; }

    /// <summary>
    /// A lower priority for a new process (<see cref="BatonOptions.SuccessorNice"/>, or <see cref="BatonOptions.StandbyNice"/>
    /// for a standby), where this process may give it back to it; else none, and why is said once.
    /// </summary>
    private SuccessorPriority? LoweredPriority(bool standby)
    {
        var nice = standby ? _options.StandbyNice : _options.SuccessorNice;
        if (nice == 0)
        {
            return null;
        }

        if (!NiceValues.CanLowerAgain())
        {
            ref var said = ref standby ? ref _standbyNiceLeftOutSaid : ref _niceLeftOutSaid;
            if (!said)
            {
                said = true;
                (standby ? (Action<ILogger, int, int>)Log.StandbyNiceNotAllowed : Log.SuccessorNiceNotAllowed)(_logger, Environment.ProcessId, nice);
            }

            return null;
        }

        // This process's own value: the one it was started with lowered, it took its parent's back at "go".
        return new SuccessorPriority(nice, _process.RestoreNice ?? NiceValues.Current(), standby && _options.StandbyIdle && NiceValues.RunsNormalPolicy());
    }

    private StandbyWatch CreateStandbyWatch() => new(
        (Microsoft.Extensions.Configuration.IConfiguration)_services.GetService(typeof(Microsoft.Extensions.Configuration.IConfiguration))!,
        ((IHostEnvironment?)_services.GetService(typeof(IHostEnvironment)))?.ContentRootPath ?? Environment.CurrentDirectory,
        _options.StandbyWatch,
        _process.Command);

    public IReadOnlyList<InheritedListener> Listeners => _registry.Snapshot();

    public bool OwnsListeners => _accepted;

    public bool StandingBy => _process.IsStandby && !_accepted;

    public int OpenConnections => _drain.OpenConnections;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _lifetime.ApplicationStarted.Register(static state => ((BatonRuntime)state!).Announce(), this);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Runs before any hosted service stops, Kestrel included. After a signal the drain is over by now; a stop the app
    /// asked for drains here, before Kestrel would close connections under their requests. The host's shutdown
    /// timeout cuts it short like SIGUSR2.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (Coordinator.State is BatonState.Starting or BatonState.Serving or BatonState.HandingOver)
        {
            Coordinator.Stop("StopApplication()");
        }

        try
        {
            await Coordinator.Exited.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Coordinator.Hammer();
            await Coordinator.Exited.ConfigureAwait(false);
        }

        if (_control is not null)
        {
            await _control.WaitForAnswersAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs before any hosted service starts (Kestrel binds nothing before it).</summary>
    /// <exception cref="BatonStartupException">The host's lifetime is not Baton's.</exception>
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _timeline.HostStarting();

        // The host already runs the lifetime it resolved; this is the same singleton.
        var lifetime = _services.GetService(typeof(IHostLifetime));
        if (lifetime is not BatonHostLifetime)
        {
            throw new BatonStartupException(LifetimeReplaced(lifetime?.GetType()));
        }

        return Task.CompletedTask;
    }

    internal static string LifetimeReplaced(Type? lifetime) =>
        (lifetime == typeof(Microsoft.Extensions.Hosting.Systemd.SystemdLifetime)
            ? "AddSystemd()/UseSystemd() was called after UseBaton() and replaced Baton's host lifetime with SystemdLifetime. "
              + "Call UseBaton() after it, or leave it out: UseBaton() speaks systemd's notify protocol itself (READY=1, "
              + "RELOADING=1, MAINPID=, STOPPING=1) through the same ISystemdNotifier. "
            : $"The host's lifetime is {lifetime?.FullName ?? "missing"}, not Baton's: something registered an IHostLifetime after UseBaton(). "
              + "Call UseBaton() after it. ")
        + "With another lifetime no signal reaches Baton (SIGHUP would not restart, SIGTERM would not drain), and "
        + "SystemdLifetime would tell systemd STOPPING=1 whenever a process hands over.";

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAcceptingAsync(bool keepSocketsOpen)
    {
        // A standby stopped before its "go" (replaced, or the service stops): its warm-up connections must not hold
        // the drain, and none may start during it. (The host's own stopping token fires only after the drain.)
        _warmingEnds.Cancel();
        foreach (var listener in _registry.StopAccepting())
        {
            await listener.StopAcceptingAsync(keepSocketsOpen).ConfigureAwait(false);
        }
    }

    public void MoveConnectionsTo(ISuccessorProcess successor) => _mover.MoveTo(successor, _connections.Open);

    public int MovedConnections => _mover.MovedCount;

    public async Task<DrainResult> DrainAsync(CancellationToken hammer)
    {
        var result = await _drain.DrainAsync(_options.HammerTime, _options.DrainIdleTimeout, hammer).ConfigureAwait(false);

        // Kestrel counts a moving connection closed as soon as its descriptor is detached, before it has been passed on:
        // the drain's report (how many moved) and the exit wait for those still on their way.
        await _mover.WaitForMovesAsync(ConnectionMover.SettleTimeout * 2).ConfigureAwait(false);
        return result;
    }

    public void HandPidFileTo(int successorPid) => UpdatePidFile(file =>
    {
        if (file.Read() != successorPid)
        {
            file.Write(successorPid);
        }
    });

    public void ReclaimPidFile(int failedSuccessor) => UpdatePidFile(file =>
    {
        if (file.Read() == failedSuccessor)
        {
            WritePidFile(file);
        }
    });

    public void Exit(bool deletePidFile, bool hammered)
    {
        if (deletePidFile && _accepted)
        {
            // A successor that was never accepted leaves the file to its predecessor, which takes it back.
            UpdatePidFile(file => file.DeleteIfOwnedBy(Environment.ProcessId));
            try
            {
                _control?.Dispose();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException)
            {
                Log.ControlFailed(_logger, Environment.ProcessId, ex.Message);
            }
        }

        _lifetime.StopApplication();
        if (hammered)
        {
            // Hammer means now: a request handler that ignores its aborted connection must not hold the process
            // for the host's whole shutdown timeout.
            _ = Task.Run(async () =>
            {
                await Task.Delay(HammerExitGrace).ConfigureAwait(false);
                Log.HammerExit(_logger, Environment.ProcessId, (long)HammerExitGrace.TotalMilliseconds);
                Environment.Exit(0);
            });
        }
    }

    public Control.ControlStatus Status() => new()
    {
        Pid = Environment.ProcessId,
        Generation = _process.Generation,
        State = Coordinator.State.ToString(),
        StartedAt = _startedAt,
        UptimeSeconds = Math.Round((DateTimeOffset.UtcNow - _startedAt).TotalSeconds, 3),
        Addresses = _server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [],
        Connections = _drain.OpenConnections,
        RequestsInFlight = _drain.InFlight,
        Draining = _process.Successor is { IsAlive: true } predecessor
            ? new Control.DrainingProcess { Pid = predecessor.Pid, Connections = predecessor.OpenConnections }
            : null,
        Standby = Coordinator.Standby is { } standby ? new Control.StandbyProcess { Pid = standby.Pid, Ready = standby.Ready } : null,
    };

    public Task<RestartResult> RestartAsync() => Coordinator.RequestRestart();

    public void Stop(bool hammer)
    {
        Coordinator.Stop(hammer ? "baton stop --hammer" : "baton stop");
        if (hammer)
        {
            Coordinator.Hammer();
        }
    }

    /// <summary>
    /// The control socket: the one a predecessor handed over, if it is where the configuration wants it (a pid file
    /// moved in the configuration moves the socket with it), else a new one.
    /// </summary>
    private Control.ControlServer OpenControl(string path)
    {
        if (_process.ControlDescriptor is { } fd)
        {
            var bound = Interop.Descriptors.BoundEndPoint(fd)?.ToString() ?? "?";
            if (bound == path)
            {
                return Control.ControlServer.Adopt(fd, path, _logger);
            }

            // Still the predecessor's to answer (and to leave behind): only this copy of it is closed.
            Log.ControlMoved(_logger, Environment.ProcessId, bound, path);
            Interop.Descriptors.Close(fd);
        }

        return Control.ControlServer.At(path, _logger);
    }

    private void Announce()
    {
        _timeline.Listening();
        // A successor warms up first, while its gates are closed and its predecessor serves every client (a standby
        // also settles: see SettleAsync).
        if (_process.Successor is not null && (_options.WarmUp || _process.IsStandby))
        {
            _ = WarmUpThenAnnounceAsync();
            return;
        }

        AnnounceNow();
    }

    private async Task WarmUpThenAnnounceAsync()
    {
        try
        {
            if (_options.WarmUp)
            {
                await WarmUpAsync().ConfigureAwait(false);
            }

            if (_process.IsStandby)
            {
                await SettleAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Only ever an optimisation: a warm-up that breaks must not keep the process from serving.
            Log.WarmUpFailed(_logger, Environment.ProcessId, ex);
        }

        AnnounceNow();
    }

    /// <summary>
    /// A standby has time before its "go", and must not spend it after: Baton's own code, which a successor compiles a
    /// second after it serves (135-270 ms of a core, on the cores its clients need), is compiled before it reports ready.
    /// </summary>
    /// <remarks>
    /// Waiting, as well, until the JIT had gone quiet (the warm-up's methods promoted in the background) was tried: at
    /// nice 19 under load that took over 2 s, longer than the SIGHUPs were apart, and each SIGHUP waited for it.
    /// </remarks>
    private async Task SettleAsync()
    {
        if (!CodePreparation.IsUseful)
        {
            return;
        }

        var (methods, elapsed) = await Task.Run(CodePreparation.PrepareAll).ConfigureAwait(false);
        Log.StandbySettled(_logger, Environment.ProcessId, methods, (long)elapsed.TotalMilliseconds);
        PrepareLogMessages();
    }

    private async Task WarmUpAsync()
    {
        var pid = Environment.ProcessId;

        // What receives the connections the predecessor moves at "go", compiled now rather than while they wait.
        _mover.PrepareToReceive();

        if (WarmUp.Target(_server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [], _registry.Listeners) is not { } target)
        {
            Log.WarmUpSkipped(_logger, pid, "no HTTP or HTTPS endpoint to send it through");
            return;
        }

        // Paths the app named are worth their time (up to WarmUpTimeout); found ones get a short wait each.
        var (paths, named) = WarmUpPaths();
        if (paths.Count == 0)
        {
            Log.WarmUpSkipped(_logger, pid, "the app maps no GET endpoint without route parameters; name paths in Baton:WarmUpPaths");
            return;
        }

        // At most half the ready timeout: the warm-up alone must never be why a handover fails.
        var budget = TimeSpan.FromTicks(Math.Min(_options.WarmUpTimeout.Ticks, _options.ReadyTimeout.Ticks / 2));
        var headWait = named ? budget : WarmUp.FoundPathHeadWait;
        using var loopback = new WarmUp.LoopbackConnections(_logger);
        var rounds = _process.IsStandby && CodePreparation.IsUseful ? StandbyWarmUpRounds : WarmUp.Rounds;
        var report = await WarmUp.RunAsync(target, loopback, paths, headWait, budget, _lifetime.ApplicationStopping, rounds).ConfigureAwait(false);
        if (_process.IsStandby)
        {
            _warmUpPlan = (target, report.Answered, headWait);
        }

        if (report.Answered.Count > 0)
        {
            await RehearseMoveAsync(target, loopback, report.Answered[0]).ConfigureAwait(false);
        }

        _timeline.WarmedUp();
        Log.WarmedUp(_logger, pid, report.Statuses.Count, paths.Count, (long)report.Elapsed.TotalMilliseconds, report.Summary);
    }

    private void AnnounceNow()
    {
        var pid = Environment.ProcessId;

        // From here a SIGHUP, even one sent on seeing the lines below, must be honoured. A stop that came first
        // wins: then this process neither serves nor reports ready.
        if (!Coordinator.OnServing())
        {
            return;
        }

        try
        {
            // A standby begins at its "go", long after this: it says so, and runs the hook, then.
            if (!_process.IsStandby)
            {
                Begin();
            }

            // A first generation binds its control socket now; a successor has its predecessor's (or binds one where the
            // configuration moved it).
            _control?.Bind();

            // Before the predecessor is told: a "ready" means the file names this process, so that once its log says
            // so, `kill -HUP $(cat pidfile)` reaches this process. A file that cannot be written fails the start. A
            // standby is not meant to serve yet: its predecessor names it in the file at "go".
            if (_pidFile is not null && !_process.IsStandby)
            {
                WritePidFile(_pidFile);
                _timeline.PidFileWritten();
            }
        }
        catch (Exception ex)
        {
            FailStart(ex);
            return;
        }

        // A successor accepts only once its predecessor answers "go", the moment before that one stops accepting.
        if (_process.Successor is { } successor)
        {
            if (_mover.Enabled)
            {
                successor.ConnectionArrived = (fd, listener, unread) => _mover.Receive(fd, listener, unread, _registry.Listeners, successor.Pid);
                _ = successor.Exited.ContinueWith(
                    _ =>
                    {
                        if (_mover.ReceivedCount is var received and > 0)
                        {
                            Log.ConnectionsReceived(_logger, Environment.ProcessId, received, successor.Pid);
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }

            Log.StartupTimeline(_logger, pid, _timeline.Describe(MonotonicClock.Microseconds()));
            successor.ReportReady(pid, OnAccepted);
            if (_process.IsStandby)
            {
                Log.StandingBy(_logger, pid, _process.Generation, successor.Pid);
                _ = Task.Run(KeepWarmingAsync);
            }
        }
        else
        {
            // Sockets the service manager passed that no endpoint took (Kestrel has bound all it was asked to by now).
            // Closing ours changes nothing for clients: the service manager holds the socket too, so connections to
            // it wait unanswered either way. Serving an address the configuration does not name would be worse.
            var closed = _registry.CloseUnclaimed();
            if (closed.Count > 0)
            {
                Log.ClosedUnclaimedActivated(_logger, pid, string.Join(", ", closed));
            }

            Coordinator.NotifyServing();
            PrepareHandoverCode();
            Coordinator.KeepStandby();
        }
    }

    /// <summary>
    /// Compiles Baton's code (its handover path above all) in the background, a while after this process began serving:
    /// its own first handover then runs compiled code (see <see cref="CodePreparation"/>).
    /// </summary>
    private void PrepareHandoverCode() =>
        CodePreparation.PrepareAllInBackground(PreparationDelay, (methods, elapsed) =>
        {
            Log.CodePrepared(_logger, Environment.ProcessId, methods, (long)elapsed.TotalMilliseconds);
            PrepareLogMessages();
            _ = Task.Run(RehearseMoveWhileServingAsync);
        });

    private void PrepareLogMessages()
    {
        var (messages, elapsed) = LogPreparation.PrepareWrittenMessages(_logger);
        Log.LogMessagesPrepared(_logger, Environment.ProcessId, messages, (long)elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// The paths a warm-up requests: the ones the app named (<see cref="BatonOptions.WarmUpPaths"/>), else the ones
    /// found in its endpoints.
    /// </summary>
    private (IReadOnlyList<string> Paths, bool Named) WarmUpPaths() => _options.WarmUpPaths.Count > 0
        ? ([.. _options.WarmUpPaths], true)
        : (WarmUp.DiscoverPaths(_services.GetService(typeof(Microsoft.AspNetCore.Routing.EndpointDataSource)) as Microsoft.AspNetCore.Routing.EndpointDataSource), false);

    /// <summary>
    /// Moves a warm-up connection to this process itself (see <see cref="MoveRehearsal"/>), under the JIT, where
    /// connections move and the endpoint is plain HTTP; once per process.
    /// </summary>
    private async Task RehearseMoveAsync(WarmUpTarget target, WarmUp.LoopbackConnections loopback, string path)
    {
        if (!_mover.Enabled || !CodePreparation.IsUseful || target.Tls || Interlocked.Exchange(ref _moveRehearsed, 1) == 1)
        {
            return;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        string? failure;
        try
        {
            failure = await MoveRehearsal.RunAsync(
                target, loopback, path, _mover, _registry.Listeners, _batonOptions, _loggerFactory, MoveRehearsalTimeout, _lifetime.ApplicationStopping).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Only ever an optimisation: whatever breaks in it must neither fail a start nor touch what serves.
            failure = $"{ex.GetType().Name}: {ex.Message}";
        }

        if (failure is null)
        {
            Log.MoveRehearsed(_logger, Environment.ProcessId, (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        else
        {
            Log.MoveRehearsalFailed(_logger, Environment.ProcessId, failure);
        }
    }

    /// <summary>
    /// A process that served without a warm-up (the first generation) rehearses its connection moves while it serves,
    /// a while after it began: its own first handover is the one that moves connections. Only where the app lets Baton
    /// send it requests of its own (<see cref="BatonOptions.WarmUp"/>, or a standby, which warms up anyway).
    /// </summary>
    private async Task RehearseMoveWhileServingAsync()
    {
        // Not once a handover began: its connections would go with the real ones.
        if (Volatile.Read(ref _moveRehearsed) == 1 || !(_options.WarmUp || _options.Standby) || Coordinator.State != BatonState.Serving
            || WarmUp.Target(_server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [], _registry.Listeners) is not { Tls: false } target
            || WarmUpPaths().Paths is not [var path, ..])
        {
            return;
        }

        try
        {
            using var loopback = new WarmUp.LoopbackConnections(_logger);
            await RehearseMoveAsync(target, loopback, path).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The loopback listener could not be set up.
            Log.MoveRehearsalFailed(_logger, Environment.ProcessId, ex.Message);
        }
    }

    /// <summary>
    /// The host would log a failure here and serve on. A successor tells its parent now (which keeps serving) instead
    /// of leaving it waiting until ReadyTimeout; either process stops, with exit code 1. A successor had accepted
    /// nothing yet, and leaves the listeners open for its predecessor.
    /// </summary>
    private void FailStart(Exception ex)
    {
        Environment.ExitCode = 1;
        if (_process.Successor is { } successor)
        {
            successor.ReportFailure($"{ex.GetType().FullName}: {ex.Message}");
            Log.TakeOverFailed(_logger, Environment.ProcessId, ex);
        }
        else
        {
            Log.StartFailed(_logger, Environment.ProcessId, ex);
        }

        _lifetime.StopApplication();
    }

    private void OnAccepted(bool toldByPredecessor)
    {
        if (!toldByPredecessor && _process.IsStandby)
        {
            // Nobody asked a standby to serve: its parent died (killed, crashed) before any SIGHUP. It goes too, as the
            // service would without a standby - restarting a dead service is the service manager's call (systemd's
            // Restart=, Kubernetes), and a `kill -9` must not leave a server behind it that holds the port.
            Log.StandbyOrphaned(_logger, Environment.ProcessId, _process.Successor!.Pid);
            Environment.ExitCode = 1;
            _lifetime.StopApplication();
            return;
        }

        _accepted = true;
        _warmingEnds.Cancel();
        ReportJitAfterServing();

        // Started with a lower priority (Baton:SuccessorNice, Baton:StandbyNice): it takes its parent's back before its
        // first connection, not after.
        if (_process.RestoreNice is { } nice)
        {
            if (NiceValues.TrySetAllThreads(nice, leaveIdle: _process.LeaveIdle))
            {
                Log.PriorityRestored(_logger, Environment.ProcessId, nice);

                // A thread being created as the passes ran (the clone begun by a thread not yet changed, and listed only
                // after the last pass) started with the lowered priority: looked for again once the burst of "go" is over.
                // Seen under SCHED_IDLE, where a thread in the middle of creating one waits longest for a core.
                var leaveIdle = _process.LeaveIdle;
                _ = Task.Delay(StragglerLook).ContinueWith(_ => NiceValues.TrySetAllThreads(nice, leaveIdle: leaveIdle), TaskScheduler.Default);
            }
            else
            {
                Log.PriorityNotRestored(_logger, Environment.ProcessId, nice);
            }
        }

        // Serving (readiness 200, READY=1) before the gates open: the first connection accepted may be a readiness
        // probe, and it must not see this process as not serving yet. (Opened first, a probe queued at "go" was once
        // answered 503 by a process that served.)
        Coordinator.NotifyServing();
        _registry.OpenGates();

        // The rest is not on the clients' path, and this thread is: it goes back to the channel, where the connections
        // the predecessor moves arrive (they waited behind the pid file and the log lines below for 8-15 ms before).
        _ = Task.Run(() => AfterAccepted(toldByPredecessor));
    }

    /// <summary>What a successor does once it serves, off the thread that takes the moved connections.</summary>
    private void AfterAccepted(bool toldByPredecessor)
    {
        if (_process.IsStandby)
        {
            // Its predecessor named it in the pid file just before the "go"; written again here, as the process it names.
            UpdatePidFile(WritePidFile);
            try
            {
                Begin();
            }
            catch (Exception ex)
            {
                // Too late to refuse: the predecessor has stopped accepting. The hook's failure is said, the process serves.
                Log.BeginHookFailed(_logger, Environment.ProcessId, ex);
            }
        }
        else
        {
            PrepareHandoverCode();
        }

        var pid = Environment.ProcessId;
        if (!toldByPredecessor)
        {
            Log.PredecessorVanished(_logger, pid, _process.Successor!.Pid);
        }

        Coordinator.KeepStandby();

        try
        {
            _process.Successor!.SwitchStandardError();

            // Only now are the inherited sockets this process's to close: until "go" the predecessor served on them.
            var unclaimed = _registry.CloseUnclaimed(
                path => Log.UnixSocketRemoved(_logger, pid, path),
                (path, reason) => Log.UnixSocketNotRemoved(_logger, pid, path, reason));
            foreach (var closed in unclaimed)
            {
                Log.ClosedUnclaimed(_logger, pid, closed);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.AfterAcceptFailed(_logger, pid, ex);
        }
    }

    /// <summary>
    /// A standby that waits warms up on, while the JIT still finds something to compile: its warm-up before "ready" ran
    /// the hot paths' code, but the JIT promotes a method to optimised code only for calls counted once the start-up's
    /// compiling has paused (100 ms), and compiles it in the background after that. Without this, those promotions -
    /// about a thousand methods, 270-350 ms of a core for samples/Hello - came in the first second after "go", on the
    /// cores the clients need. Runs at the standby's priority; "go" or a stop ends it at once.
    /// </summary>
    private async Task KeepWarmingAsync()
    {
        if (_warmUpPlan is not { } plan || plan.Paths.Count == 0 || !CodePreparation.IsUseful)
        {
            return;
        }

        var pid = Environment.ProcessId;
        try
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(_warmingEnds.Token, _lifetime.ApplicationStopping);
            using var loopback = new WarmUp.LoopbackConnections(_logger);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var startCount = System.Runtime.JitInfo.GetCompiledMethodCount();
            var count = startCount;
            var quietSince = started;
            int rounds = 0, quietRounds = 0;
            var outcome = "the JIT had nothing left to compile";
            while (true)
            {
                if (stop.IsCancellationRequested)
                {
                    outcome = _accepted ? "told to serve" : "stopping";
                    break;
                }

                if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > StandbyWarmingLimit)
                {
                    outcome = "time limit";
                    break;
                }

                _ = await WarmUp.RunAsync(plan.Target, loopback, plan.Paths, plan.HeadWait, plan.HeadWait, stop.Token, rounds: 1).ConfigureAwait(false);
                rounds++;
                var now = System.Runtime.JitInfo.GetCompiledMethodCount();
                if (now != count)
                {
                    count = now;
                    quietRounds = 0;
                    quietSince = System.Diagnostics.Stopwatch.GetTimestamp();
                }
                else if (++quietRounds >= StandbyQuietRounds && System.Diagnostics.Stopwatch.GetElapsedTime(quietSince) >= StandbyQuietTime)
                {
                    break;
                }
            }

            Log.StandbyWarmedOn(_logger, pid, rounds, (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, count - startCount, outcome);
        }
        catch (Exception ex)
        {
            Log.WarmUpFailed(_logger, pid, ex);
        }
    }

    /// <summary>
    /// How much the JIT still had to compile once this process served - what its warm-up left to its first clients - said
    /// (at Debug) two seconds after "go".
    /// </summary>
    private void ReportJitAfterServing()
    {
        if (!_logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        var methods = System.Runtime.JitInfo.GetCompiledMethodCount();
        var time = System.Runtime.JitInfo.GetCompilationTime();
        var collections = GC.CollectionCount(0);
        const int seconds = 2;
        _ = Task.Delay(TimeSpan.FromSeconds(seconds)).ContinueWith(
            _ => Log.JitAfterServing(
                _logger, Environment.ProcessId, seconds, System.Runtime.JitInfo.GetCompiledMethodCount() - methods,
                (long)(System.Runtime.JitInfo.GetCompilationTime() - time).TotalMilliseconds, GC.CollectionCount(0) - collections),
            TaskScheduler.Default);
    }

    /// <summary>The "serves" line and the BeforeBegin hook (or the line naming the actual pid).</summary>
    private void Begin()
    {
        var pid = Environment.ProcessId;
        var addresses = _server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        Log.Serving(_logger, pid, _process.Generation, string.Join(", ", addresses));
        if (_options.BeforeBegin is { } hook)
        {
            hook(new BatonBeginContext(pid, _process.Generation, addresses));
        }
        else
        {
            Log.ActualPid(_logger, pid);
        }
    }

    private void WritePidFile(PidFile file)
    {
        file.Write(Environment.ProcessId);
        Log.PidFileWritten(_logger, Environment.ProcessId, file.Path);
    }

    /// <summary>Runs one pid-file change, if there is a pid file. An error is logged and never stops the process.</summary>
    private void UpdatePidFile(Action<PidFile> change)
    {
        if (_pidFile is null)
        {
            return;
        }

        try
        {
            change(_pidFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.PidFileFailed(_logger, Environment.ProcessId, _pidFile.Path, ex.Message);
        }
    }
}
