using System.Runtime.InteropServices;
using Baton.Handover;
using Baton.Interop;
using Microsoft.Extensions.Logging;

namespace Baton.Signals;

/// <summary>
/// POSIX signals to intents: SIGHUP restart, SIGTERM/SIGINT/SIGQUIT stop, SIGUSR2 hammer, SIGUSR1/SIGTSTP caught and
/// logged. Handlers only post to the coordinator and return.
/// </summary>
/// <remarks>
/// Registered in <c>UseBaton()</c>, long before the host starts, so that the window in which a signal still has its
/// default action (SIGHUP and SIGTERM terminate) is as short as the runtime allows: from exec until UseBaton. A signal
/// that comes before the coordinator exists waits for it: a stop is applied as soon as it does (the process ends
/// without serving), a restart is ignored with a log line (a process that does not serve yet has nothing to hand over).
/// </remarks>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class SignalRouter : IDisposable
{
    // Not in the PosixSignal enum; raw Linux numbers are accepted cast to it.
    private const PosixSignal SIGUSR1 = (PosixSignal)10;
    private const PosixSignal SIGUSR2 = (PosixSignal)12;

    /// <summary>The signals Baton acts on, with their Linux numbers.</summary>
    internal static readonly (PosixSignal Signal, int Number, string Name)[] Handled =
    [
        (PosixSignal.SIGHUP, 1, "SIGHUP"),
        (PosixSignal.SIGINT, 2, "SIGINT"),
        (PosixSignal.SIGQUIT, 3, "SIGQUIT"),
        (PosixSignal.SIGTERM, 15, "SIGTERM"),
        (SIGUSR1, 10, "SIGUSR1"),
        (SIGUSR2, 12, "SIGUSR2"),
        (PosixSignal.SIGTSTP, 20, "SIGTSTP"),
    ];

    // Held for the life of the process, past the host's: a registration that is disposed or collected is unregistered,
    // and then the signal's default action applies (SIGHUP, SIGTERM, SIGUSR1/2 terminate, SIGTSTP stops). A process in
    // its last moments, its host disposed, still gets the SIGHUPs of a `kill -HUP $(cat pidfile)` loop; once they
    // killed it (exit 129) and took its last log lines with it.
    private static readonly List<PosixSignalRegistration> s_registrations = [];
    private readonly Lock _gate = new();
    private bool _closed;
    private readonly List<string> _restored = [];
    private readonly List<string> _uncatchable = [];
    private readonly List<string> _early = [];
    private HandoverCoordinator? _coordinator;
    private ILogger? _logger;

    /// <summary>Restores signals ignored at start and registers for every handled signal.</summary>
    /// <remarks>
    /// Must run before the runtime sets up its own signal handling (the first Console use or signal registration):
    /// for SIGINT/SIGQUIT it decides once, then, whether to install its handler, and an ignore inherited from nohup or
    /// `cmd &amp;` must be gone by then.
    /// </remarks>
    public SignalRouter()
    {
        // All restored before the first registration: that one sets up the runtime's signal handling, and with it the
        // runtime's one decision about SIGINT/SIGQUIT.
        foreach (var (_, number, name) in Handled)
        {
            if (SignalDispositions.RestoreDefaultIfIgnored(number))
            {
                _restored.Add(name);
            }
        }

        foreach (var (signal, number, name) in Handled)
        {
            var restored = _restored.Contains(name);
            var registration = PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                Post(name);
            });
            lock (s_registrations)
            {
                s_registrations.Add(registration);
            }

            // The runtime decides once whether to handle SIGINT/SIGQUIT; if it saw them ignored (Console used before
            // UseBaton, in a background job), the registration is inert and the default action would kill the
            // process mid-request. Keep the ignore it started with instead, and say so.
            if (restored && SignalDispositions.IsUncaught(number))
            {
                SignalDispositions.Ignore(number);
                _uncatchable.Add(name);
            }
        }
    }

    /// <summary>From now on signals go to <paramref name="coordinator"/>; those that came earlier are applied now.</summary>
    public void Attach(HandoverCoordinator coordinator, ILogger logger)
    {
        string[] early;
        lock (_gate)
        {
            _coordinator = coordinator;
            _logger = logger;
            early = [.. _early];
            _early.Clear();
        }

        var pid = Environment.ProcessId;
        foreach (var name in _restored)
        {
            Log.SignalRestored(logger, pid, name);
        }

        foreach (var name in _uncatchable)
        {
            Log.SignalCannotBeCaught(logger, pid, name);
        }

        foreach (var name in early)
        {
            Act(coordinator, logger, name);
        }
    }

    /// <summary>
    /// From now on signals are caught and do nothing: the host is gone, and the process is about to exit (see
    /// <see cref="s_registrations"/> for why they stay registered).
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _closed = true;
        }
    }

    private void Post(string name)
    {
        HandoverCoordinator? coordinator;
        ILogger? logger;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            coordinator = _coordinator;
            logger = _logger;
            if (coordinator is null)
            {
                _early.Add(name);
                return;
            }
        }

        Act(coordinator, logger!, name);
    }

    private static void Act(HandoverCoordinator coordinator, ILogger logger, string name)
    {
        switch (name)
        {
            case "SIGHUP":
                coordinator.Restart();
                break;
            case "SIGINT" or "SIGQUIT" or "SIGTERM":
                coordinator.Stop(name);
                break;
            case "SIGUSR2":
                coordinator.Hammer();
                break;
            default:
                Log.SignalIgnored(logger, Environment.ProcessId, name);
                break;
        }
    }
}
