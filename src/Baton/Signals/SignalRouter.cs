using System.Runtime.InteropServices;
using Baton.Handover;
using Baton.Interop;
using Microsoft.Extensions.Logging;

namespace Baton.Signals;

/// <summary>
/// POSIX signals to intents: SIGHUP restart, SIGTERM/SIGINT/SIGQUIT stop, SIGUSR2 hammer, SIGUSR1/SIGTSTP caught and
/// logged. Handlers only post to the coordinator and return.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class SignalRouter : IDisposable
{
    // Not in the PosixSignal enum; raw Linux numbers are accepted cast to it.
    private const PosixSignal SIGUSR1 = (PosixSignal)10;
    private const PosixSignal SIGUSR2 = (PosixSignal)12;

    // Held for the life of the process: a registration that is collected is unregistered, and then SIGHUP's
    // default action (terminate) applies.
    private readonly List<PosixSignalRegistration> _registrations = [];

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

    public SignalRouter(HandoverCoordinator coordinator, ILogger logger)
    {
        var pid = Environment.ProcessId;
        foreach (var (signal, number, name) in Handled)
        {
            // UseBaton restored these, before anything could set up the runtime's signal handling.
            var restored = SignalDispositions.Restored.Contains(number);
            if (restored)
            {
                Log.SignalRestored(logger, pid, name);
            }

            Action act = name switch
            {
                "SIGHUP" => coordinator.Restart,
                "SIGINT" or "SIGQUIT" or "SIGTERM" => () => coordinator.Stop(name),
                "SIGUSR2" => coordinator.Hammer,
                _ => () => Log.SignalIgnored(logger, pid, name),
            };
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                act();
            }));

            // The runtime decides once whether to handle SIGINT/SIGQUIT; if it saw them ignored (Console used before
            // UseBaton, in a background job), the registration is inert and the default action would kill the
            // process mid-request. Keep the ignore it started with instead, and say so.
            if (restored && SignalDispositions.IsUncaught(number))
            {
                SignalDispositions.Ignore(number);
                Log.SignalCannotBeCaught(logger, pid, name);
            }
        }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }
}
