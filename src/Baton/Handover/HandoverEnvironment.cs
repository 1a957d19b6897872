using System.Globalization;
using System.Net;
using System.Text;
using Baton.Interop;

namespace Baton.Handover;

/// <summary>The descriptor checks a successor runs on what it is told; faked in unit tests.</summary>
internal interface IDescriptorChecks
{
    DescriptorKind Classify(int fd);

    /// <summary>The address the socket is bound to (getsockname); null if it has none Baton knows.</summary>
    EndPoint? BoundEndPoint(int fd);

    /// <summary>A connected stream socket open for reading and writing.</summary>
    bool IsChannel(int fd);

    bool IsOpen(int fd);
}

internal sealed class RealDescriptorChecks : IDescriptorChecks
{
    public static readonly RealDescriptorChecks Instance = new();

    public DescriptorKind Classify(int fd) => Descriptors.Classify(fd);

    public EndPoint? BoundEndPoint(int fd) => Descriptors.BoundEndPoint(fd);

    public bool IsChannel(int fd) => Descriptors.IsStreamSocket(fd);

    public bool IsOpen(int fd) => Descriptors.IsOpen(fd);
}

/// <summary>
/// The environment variables through which a process tells its successor what it inherits: written by the parent
/// (<see cref="ForSuccessor"/>) and read by the successor (<see cref="Read"/>), here only. Everything a successor
/// is told is checked before it is believed: a wrong value fails the start with a message naming the variable,
/// rather than serving on the wrong socket.
/// </summary>
internal static class HandoverEnvironment
{
    public const string ListenersVariable = HandoverVariables.Listeners;
    public const string ChannelVariable = HandoverVariables.Channel;
    public const string GenerationVariable = HandoverVariables.Generation;
    public const string ParentVariable = HandoverVariables.Parent;
    public const string StandardErrorVariable = HandoverVariables.StandardError;
    public const string StandardErrorRelayVariable = HandoverVariables.StandardErrorRelay;
    public const string ControlVariable = HandoverVariables.Control;
    public const string SupervisorVariable = HandoverVariables.Supervisor;
    public const string ActivatedVariable = HandoverVariables.Activated;

    public static IReadOnlyList<string> AllVariables => HandoverVariables.All;

    public static IReadOnlyList<string> OptionalVariables => HandoverVariables.Optional;

    /// <summary>
    /// What a successor gets: the parent's descriptors in the order the spawn hands them on (as 3, 4, ...), and the
    /// variables that tell the successor which number is which.
    /// </summary>
    public static (IReadOnlyList<int> Descriptors, IReadOnlyList<string> Variables) ForSuccessor(
        IReadOnlyList<InheritedListener> listeners, int channel, int standardError, int standardErrorRelay, int generation, int parentPid, int control = -1, int supervisor = -1)
    {
        var first = ProcessSpawner.FirstInheritedDescriptor;
        var renumbered = listeners.Select((l, i) => l with { Descriptor = first + i }).ToList();
        var activated = string.Join(',', renumbered.Where(l => l.Activated).Select(l => Number(l.Descriptor)));
        var descriptors = listeners.Select(l => l.Descriptor).Concat([channel, standardError, standardErrorRelay]).ToList();
        var variables = new List<string>
        {
            $"{ListenersVariable}={FormatListeners(renumbered)}",
            $"{ChannelVariable}={Number(first + listeners.Count)}",
            $"{StandardErrorVariable}={Number(first + listeners.Count + 1)}",
            $"{StandardErrorRelayVariable}={Number(first + listeners.Count + 2)}",
            $"{GenerationVariable}={Number(generation)}",
            $"{ParentVariable}={Number(parentPid)}",
            $"{HandoverVariables.SpawnedAt}={MonotonicClock.Microseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)}",
        };
        if (activated.Length > 0)
        {
            variables.Add($"{ActivatedVariable}={activated}");
        }

        foreach (var (variable, fd) in new[] { (ControlVariable, control), (SupervisorVariable, supervisor) })
        {
            if (fd >= 0)
            {
                variables.Add($"{variable}={Number(first + descriptors.Count)}");
                descriptors.Add(fd);
            }
        }

        return (descriptors, variables);
    }

    /// <summary>An optional descriptor variable: null when unset; checked to be open.</summary>
    /// <exception cref="BatonStartupException">Malformed, or not an open descriptor.</exception>
    public static int? ReadOptional(string variable, Func<string, string?> getVariable, IDescriptorChecks checks)
    {
        if (getVariable(variable) is not { } text)
        {
            return null;
        }

        var fd = ParseNumber(variable, text, minimum: 3);
        return checks.IsOpen(fd) ? fd : throw new BatonStartupException($"{variable}={text}: descriptor {fd} is not open.");
    }

    public static string FormatListeners(IEnumerable<InheritedListener> listeners)
    {
        var text = new StringBuilder();
        foreach (var listener in listeners)
        {
            if (text.Length > 0)
            {
                text.Append(';');
            }

            text.Append(Number(listener.Descriptor)).Append('=').Append(listener.Describe());
        }

        return text.ToString();
    }

    /// <summary>Reads what this process inherited, or null when it was not started by a Baton handover.</summary>
    /// <exception cref="BatonStartupException">A variable is malformed or names a descriptor that is not what it claims.</exception>
    public static InheritedState? Read(Func<string, string?> getVariable, IDescriptorChecks checks)
    {
        var texts = AllVariables.ToDictionary(v => v, getVariable);
        if (texts.Values.All(t => t is null))
        {
            return null;
        }

        var missing = AllVariables.Where(v => texts[v] is null).ToList();
        if (missing.Count > 0)
        {
            throw new BatonStartupException(
                $"Incomplete handover environment: {string.Join(", ", missing)} missing. These variables are set by Baton for a successor process; unset them all to start normally.");
        }

        // Every number first, then what the descriptors are: the listeners, then standard error, the channel last.
        var generation = ParseNumber(GenerationVariable, texts[GenerationVariable]!, minimum: 2);
        var parentPid = ParseNumber(ParentVariable, texts[ParentVariable]!, minimum: 1);
        var channel = ParseNumber(ChannelVariable, texts[ChannelVariable]!, minimum: 3);
        var standardError = ParseNumber(StandardErrorVariable, texts[StandardErrorVariable]!, minimum: 3);
        var relay = ParseNumber(StandardErrorRelayVariable, texts[StandardErrorRelayVariable]!, minimum: 3);
        var listeners = MarkActivated(ParseListeners(texts[ListenersVariable]!, checks), getVariable(ActivatedVariable));
        var used = new Dictionary<int, string> { [channel] = ChannelVariable };
        foreach (var (fd, variable) in listeners.Select(l => (l.Descriptor, ListenersVariable))
            .Append((standardError, StandardErrorVariable)).Append((relay, StandardErrorRelayVariable)))
        {
            if (!used.TryAdd(fd, variable))
            {
                throw new BatonStartupException($"{variable}: descriptor {fd} is also named in {used[fd]}.");
            }
        }

        foreach (var (variable, fd) in new[] { (StandardErrorVariable, standardError), (StandardErrorRelayVariable, relay) })
        {
            if (!checks.IsOpen(fd))
            {
                throw new BatonStartupException($"{variable}={fd}: descriptor {fd} is not open.");
            }
        }

        if (!checks.IsChannel(channel))
        {
            throw new BatonStartupException($"{ChannelVariable}={channel}: descriptor {channel} is not a connected stream socket open for reading and writing.");
        }

        return new InheritedState(listeners, channel, generation, parentPid, standardError, relay);
    }

    public static IReadOnlyList<InheritedListener> ParseListeners(string text, IDescriptorChecks checks)
    {
        var listeners = new List<InheritedListener>();
        if (text.Length == 0)
        {
            return listeners;
        }

        foreach (var entry in text.Split(';'))
        {
            var separator = entry.IndexOf('=', StringComparison.Ordinal);
            if (separator <= 0)
            {
                throw new BatonStartupException(
                    $"{ListenersVariable}: entry '{entry}' is not of the form FD=tcp:ADDRESS:PORT or FD=unix:PATH.");
            }

            var fd = ParseNumber(ListenersVariable, entry[..separator], minimum: 3);
            var claimed = entry[(separator + 1)..];
            if (!InheritedListener.TryParseEndPoint(claimed, out var endPoint))
            {
                throw new BatonStartupException(
                    $"{ListenersVariable}: '{claimed}' (descriptor {fd}) is not an endpoint of the form tcp:ADDRESS:PORT or unix:PATH.");
            }

            if (listeners.Any(l => l.Descriptor == fd))
            {
                throw new BatonStartupException($"{ListenersVariable}: descriptor {fd} is named twice.");
            }

            var problem = checks.Classify(fd) switch
            {
                DescriptorKind.NotOpen => "is not open",
                DescriptorKind.NotASocket => "is not a socket",
                DescriptorKind.OtherSocket => "is not a stream socket",
                DescriptorKind.NotListening => "is a socket that is not listening",
                _ => null,
            };
            if (problem is null && checks.BoundEndPoint(fd) is var bound && (bound is null || !InheritedListener.SameEndPoint(bound, endPoint!)))
            {
                // The kernel's word against the variable's: serving a port the configuration did not ask for is worse
                // than not starting.
                problem = $"is bound to {(bound is null ? "an address Baton cannot read" : InheritedListener.FormatEndPoint(bound))}, not to {claimed}";
            }

            if (problem is not null)
            {
                throw new BatonStartupException($"{ListenersVariable}: descriptor {fd} ({claimed}) {problem}.");
            }

            listeners.Add(new InheritedListener(fd, endPoint!));
        }

        return listeners;
    }

    private static IReadOnlyList<InheritedListener> MarkActivated(IReadOnlyList<InheritedListener> listeners, string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return listeners;
        }

        var activated = new HashSet<int>();
        foreach (var entry in text.Split(','))
        {
            var fd = ParseNumber(ActivatedVariable, entry, minimum: 3);
            if (!listeners.Any(l => l.Descriptor == fd))
            {
                throw new BatonStartupException($"{ActivatedVariable}: descriptor {fd} is not one of the listeners in {ListenersVariable}.");
            }

            activated.Add(fd);
        }

        return listeners.Select(l => activated.Contains(l.Descriptor) ? l with { Activated = true } : l).ToList();
    }

    private static int ParseNumber(string variable, string text, int minimum)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < minimum)
        {
            throw new BatonStartupException($"{variable}: '{text}' is not a whole number of at least {minimum}.");
        }

        return value;
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What a successor was handed by its parent.</summary>
internal sealed record InheritedState(
    IReadOnlyList<InheritedListener> Listeners,
    int ChannelDescriptor,
    int Generation,
    int ParentPid,
    int StandardErrorDescriptor,
    int StandardErrorRelayDescriptor);
