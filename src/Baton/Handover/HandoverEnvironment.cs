using System.Globalization;
using System.Text;
using Baton.Interop;

namespace Baton.Handover;

/// <summary>
/// The environment variables through which a process tells its successor what it inherits, and their validation.
/// Everything a successor is told is checked before it is believed: a wrong value fails the start with a message
/// naming the variable, rather than serving on the wrong socket.
/// </summary>
internal static class HandoverEnvironment
{
    /// <summary>"3=tcp:127.0.0.1:8000;4=unix:/run/app.sock": each inherited listener and the endpoint it must be bound to.</summary>
    public const string ListenersVariable = "BATON_LISTEN_FDS";

    /// <summary>The descriptor of the pipe on which the successor reports "ready" (or why it failed).</summary>
    public const string ReadyVariable = "BATON_READY_FD";

    /// <summary>The successor's generation: 1 for the first process.</summary>
    public const string GenerationVariable = "BATON_GENERATION";

    /// <summary>The pid of the process that started this one.</summary>
    public const string ParentVariable = "BATON_PARENT_PID";

    /// <summary>
    /// The descriptor of the standard error the successor should write to once it serves. Until then its standard error
    /// goes through the parent, which passes it on and keeps the tail, so that a successor that dies before it can say
    /// why (a broken appsettings.json throws before any Baton code runs) still has its exception in the parent's log.
    /// </summary>
    public const string StandardErrorVariable = "BATON_STDERR_FD";

    public static readonly IReadOnlyList<string> AllVariables = [ListenersVariable, ReadyVariable, GenerationVariable, ParentVariable, StandardErrorVariable];

    public static string FormatListeners(IEnumerable<InheritedListener> listeners)
    {
        var text = new StringBuilder();
        foreach (var listener in listeners)
        {
            if (text.Length > 0)
            {
                text.Append(';');
            }

            text.Append(InheritedListener.FormatDescriptor(listener.Descriptor)).Append('=').Append(listener.Describe());
        }

        return text.ToString();
    }

    /// <summary>Reads what this process inherited, or null when it was not started by a Baton handover.</summary>
    /// <exception cref="BatonStartupException">A variable is malformed or names a descriptor that is not what it claims.</exception>
    public static InheritedState? Read(Func<string, string?> getVariable, Func<int, DescriptorKind> classify, Func<int, bool> isWritablePipe)
    {
        var listenersText = getVariable(ListenersVariable);
        var readyText = getVariable(ReadyVariable);
        var generationText = getVariable(GenerationVariable);
        var parentText = getVariable(ParentVariable);
        if (listenersText is null && readyText is null && generationText is null && parentText is null)
        {
            return null;
        }

        if (listenersText is null || readyText is null || generationText is null)
        {
            var missing = new[] { (ListenersVariable, listenersText), (ReadyVariable, readyText), (GenerationVariable, generationText) }
                .Where(v => v.Item2 is null).Select(v => v.Item1);
            throw new BatonStartupException(
                $"Incomplete handover environment: {string.Join(", ", missing)} missing. These variables are set by Baton for a successor process; unset them to start normally.");
        }

        var generation = ParseNumber(GenerationVariable, generationText, minimum: 2);
        var readyFd = ParseNumber(ReadyVariable, readyText, minimum: 3);
        if (!isWritablePipe(readyFd))
        {
            throw new BatonStartupException($"{ReadyVariable}={readyText}: descriptor {readyFd} is not open for writing.");
        }

        var parentPid = parentText is null ? 0 : ParseNumber(ParentVariable, parentText, minimum: 1);
        var stderrText = getVariable(StandardErrorVariable);
        var stderrFd = -1;
        if (stderrText is not null)
        {
            stderrFd = ParseNumber(StandardErrorVariable, stderrText, minimum: 3);
            if (classify(stderrFd) == DescriptorKind.NotOpen)
            {
                throw new BatonStartupException($"{StandardErrorVariable}={stderrText}: descriptor {stderrFd} is not open.");
            }
        }

        var listeners = ParseListeners(listenersText, classify);
        if (listeners.Any(l => l.Descriptor == readyFd))
        {
            throw new BatonStartupException($"{ReadyVariable}={readyText}: descriptor {readyFd} is also named in {ListenersVariable}.");
        }

        return new InheritedState(listeners, readyFd, generation, parentPid, stderrFd);
    }

    public static IReadOnlyList<InheritedListener> ParseListeners(string text, Func<int, DescriptorKind> classify)
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
            if (!InheritedListener.TryParseEndPoint(entry[(separator + 1)..], out var endPoint))
            {
                throw new BatonStartupException(
                    $"{ListenersVariable}: '{entry[(separator + 1)..]}' (descriptor {fd}) is not an endpoint of the form tcp:ADDRESS:PORT or unix:PATH.");
            }

            if (listeners.Any(l => l.Descriptor == fd))
            {
                throw new BatonStartupException($"{ListenersVariable}: descriptor {fd} is named twice.");
            }

            var problem = classify(fd) switch
            {
                DescriptorKind.NotOpen => "is not open",
                DescriptorKind.NotASocket => "is not a socket",
                DescriptorKind.OtherSocket => "is not a stream socket",
                DescriptorKind.NotListening => "is a socket that is not listening",
                _ => null,
            };
            if (problem is not null)
            {
                throw new BatonStartupException($"{ListenersVariable}: descriptor {fd} ({entry[(separator + 1)..]}) {problem}.");
            }

            listeners.Add(new InheritedListener(fd, endPoint!));
        }

        return listeners;
    }

    private static int ParseNumber(string variable, string text, int minimum)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < minimum)
        {
            throw new BatonStartupException($"{variable}: '{text}' is not a whole number of at least {minimum}.");
        }

        return value;
    }
}

/// <summary>What a successor was handed by its parent.</summary>
internal sealed record InheritedState(IReadOnlyList<InheritedListener> Listeners, int ReadyDescriptor, int Generation, int ParentPid, int StandardErrorDescriptor = -1);
