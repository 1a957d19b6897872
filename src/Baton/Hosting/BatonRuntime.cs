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
/// to the parent), and gives the coordinator its view of the server (listeners, stop accepting, drain, exit).
/// </summary>
internal sealed class BatonRuntime : IServerControl, IHostedService
{
    private readonly HandoverContext _context;
    private readonly ListenerRegistry _registry;
    private readonly DrainController _drain;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly IServer _server;
    private readonly ILogger _logger;
    private readonly BatonOptions _options;
    private static readonly TimeSpan HammerExitGrace = TimeSpan.FromSeconds(1);

    private readonly PidFile? _pidFile;

    public BatonRuntime(
        HandoverContext context,
        ListenerRegistry registry,
        DrainController drain,
        IHostApplicationLifetime lifetime,
        IServer server,
        IOptions<BatonOptions> options,
        TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        _context = context;
        _registry = registry;
        _drain = drain;
        _lifetime = lifetime;
        _server = server;
        _options = options.Value;
        _logger = loggerFactory.CreateLogger("Baton");
        _pidFile = string.IsNullOrEmpty(_options.PidFile) ? null : new PidFile(_options.PidFile);
        var launcher = new SuccessorLauncher(new SpawningLauncher(context.Command), time);
        Coordinator = new HandoverCoordinator(this, launcher, time, _logger, _options.ReadyTimeout, context.Generation);
    }

    public HandoverCoordinator Coordinator { get; }

    public IReadOnlyList<InheritedListener> Listeners => _registry.Snapshot();

    public int OpenConnections => _drain.OpenConnections;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _lifetime.ApplicationStarted.Register(static state => ((BatonRuntime)state!).Announce(), this);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAcceptingAsync(bool handedOver)
    {
        foreach (var listener in _registry.Listeners)
        {
            await listener.StopAcceptingAsync(handedOver).ConfigureAwait(false);
        }
    }

    public Task<DrainResult> DrainAsync(CancellationToken hammer) =>
        _drain.DrainAsync(_options.HammerTime, _options.DrainIdleTimeout, hammer);

    public void ReclaimPidFile(int failedSuccessor) => UpdatePidFile(file =>
    {
        if (file.Read() == failedSuccessor)
        {
            WritePidFile(file);
        }
    });

    public void Exit(bool deletePidFile, bool hammered)
    {
        if (deletePidFile)
        {
            // A failure is logged, never a reason to keep a stopping process alive.
            UpdatePidFile(file => file.DeleteIfOwnedBy(Environment.ProcessId));
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

    private void Announce()
    {
        var pid = Environment.ProcessId;
        try
        {
            // From here a SIGHUP, even one sent on seeing the lines below, must be honoured. A stop that came first
            // wins: then this process neither serves nor reports ready.
            if (!Coordinator.OnServing())
            {
                return;
            }

            foreach (var closed in _registry.CloseUnclaimed())
            {
                Log.ClosedUnclaimed(_logger, pid, closed);
            }

            var addresses = _server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
            Log.Serving(_logger, pid, _context.Generation, string.Join(", ", addresses));
            if (_options.BeforeBegin is { } hook)
            {
                hook(new BatonBeginContext(pid, _context.Generation, addresses));
            }
            else
            {
                Log.ActualPid(_logger, pid);
            }

            // A successor accepts only now, the moment before its predecessor stops accepting (see ListenerRegistry).
            foreach (var listener in _registry.Listeners)
            {
                listener.OpenGate();
            }
        }
        catch (Exception ex) when (_context.Inherited is not null)
        {
            // The host would log this and serve on, while the parent waits for a ready that never comes until
            // ReadyTimeout: tell the parent now, and stop. Nothing was accepted yet.
            _context.ReportFailure($"{ex.GetType().FullName}: {ex.Message}");
            Log.StartFailed(_logger, pid, ex);
            _lifetime.StopApplication();
            return;
        }

        // Written before the predecessor is told, so that once its log says "ready", `kill -HUP $(cat pidfile)`
        // reaches this process. Should the predecessor give up on us after all, it takes the file back.
        UpdatePidFile(WritePidFile);
        _context.ReportReady(pid);
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
