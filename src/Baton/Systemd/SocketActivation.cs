using System.Globalization;
using Baton.Handover;
using Baton.Interop;

namespace Baton.Systemd;

/// <summary>
/// Socket activation (what sd_listen_fds reads): listening sockets bound by the service manager and passed as
/// descriptors 3, 4, ... with LISTEN_FDS (how many), LISTEN_PID (the process they are for) and LISTEN_FDNAMES
/// (their names, colon-separated). They become the first generation's inherited listeners: Kestrel's endpoints take
/// them by the address they are bound to, and handovers pass them on like any other listener.
/// </summary>
internal static class SocketActivation
{
    public const string FdsVariable = "LISTEN_FDS";
    public const string PidVariable = "LISTEN_PID";
    public const string NamesVariable = "LISTEN_FDNAMES";

    /// <summary>Removed from the environment at start whatever they say: no process this one starts may take them as its own.</summary>
    public static readonly IReadOnlyList<string> AllVariables = [PidVariable, FdsVariable, NamesVariable];

    // SD_LISTEN_FDS_START.
    private const int FirstDescriptor = 3;

    // Far above any real unit, low enough that a garbage value is an error rather than a long loop of checks.
    private const int MaxDescriptors = 4096;

    /// <summary>What this process was passed, if anything.</summary>
    /// <exception cref="BatonStartupException">A variable is malformed, or a descriptor is not a listening stream socket.</exception>
    public static ActivatedSockets Read(Func<string, string?> getVariable, IDescriptorChecks checks, int pid)
    {
        var fdsText = getVariable(FdsVariable);
        if (fdsText is null)
        {
            return ActivatedSockets.None;
        }

        var pidText = getVariable(PidVariable);
        if (pidText is null)
        {
            return ActivatedSockets.Ignore(fdsText, $"{PidVariable} is not set");
        }

        if (!int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var listenPid) || listenPid < 1)
        {
            throw new BatonStartupException($"{PidVariable}: '{pidText}' is not a process id.");
        }

        if (listenPid != pid)
        {
            // Meant for another process (a wrapper that started this one, a parent that forgot to unset them): its
            // descriptors are not ours to take.
            return ActivatedSockets.Ignore(fdsText, $"{PidVariable}={pidText} names another process");
        }

        if (!int.TryParse(fdsText, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count > MaxDescriptors)
        {
            throw new BatonStartupException($"{FdsVariable}: '{fdsText}' is not a number of descriptors.");
        }

        var names = getVariable(NamesVariable)?.Split(':');
        if (names is not null && names.Length != count)
        {
            throw new BatonStartupException(
                $"{NamesVariable}: {names.Length} name(s) for {FdsVariable}={count} descriptor(s); the service manager passes one name per descriptor.");
        }

        var listeners = new List<InheritedListener>();
        for (var i = 0; i < count; i++)
        {
            var fd = FirstDescriptor + i;
            var problem = checks.Classify(fd) switch
            {
                DescriptorKind.NotOpen => "is not open",
                DescriptorKind.NotASocket => "is not a socket",
                DescriptorKind.OtherSocket => "is not a stream socket (Baton serves ListenStream= sockets)",
                DescriptorKind.NotListening => "is a socket that is not listening (Baton needs the listening socket itself: Accept=no)",
                _ => null,
            };
            var bound = problem is null ? checks.BoundEndPoint(fd) : null;
            if (problem is null && bound is null)
            {
                problem = "is bound to an address Baton cannot serve (only IPv4, IPv6 and Unix socket paths)";
            }

            if (problem is not null)
            {
                var name = names is null ? string.Empty : $" ('{names[i]}')";
                throw new BatonStartupException(
                    $"{FdsVariable}={count}: descriptor {fd}{name} {problem}. Fix the .socket unit, or unset {FdsVariable} and {PidVariable} to start without socket activation.");
            }

            listeners.Add(new InheritedListener(fd, bound!) { Activated = true });
        }

        return new ActivatedSockets(listeners, names, null);
    }
}

/// <summary>The listening sockets the service manager passed, or why LISTEN_FDS was ignored.</summary>
internal sealed record ActivatedSockets(IReadOnlyList<InheritedListener> Listeners, IReadOnlyList<string>? Names, string? IgnoredBecause)
{
    public static ActivatedSockets None { get; } = new([], null, null);

    public static ActivatedSockets Ignore(string fds, string why) => new([], null, $"{SocketActivation.FdsVariable}={fds} ignored: {why}");

    /// <summary>"3=tcp:127.0.0.1:8080 (http), 4=unix:/run/app.sock (admin)".</summary>
    public string Describe() => string.Join(", ", Listeners.Select((l, i) =>
        $"{l.Descriptor.ToString(CultureInfo.InvariantCulture)}={l.Describe()}{(Names is null ? string.Empty : $" ({Names[i]})")}"));
}
