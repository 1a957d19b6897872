using System.Globalization;

namespace Baton.Handover;

/// <summary>
/// The lines on the handover channel, a socket pair between a process and the successor it starts. The successor says
/// "ready PID GENERATION" or "failed MESSAGE"; the parent answers "go" once it accepts the ready (only then may the
/// successor accept connections), then "draining N" while it finishes its N connections, and "moved" for each idle
/// connection it passes on (the connection's descriptor rides on that line with SCM_RIGHTS). The channel's end of file
/// tells each side that the other process is gone.
/// </summary>
internal abstract record HandshakeMessage
{
    public const string Go = "go\n";

    public static string Ready(int pid, int generation) =>
        string.Create(CultureInfo.InvariantCulture, $"ready {pid} {generation}\n");

    public static string Failed(string reason) =>
        "failed " + reason.ReplaceLineEndings(" ").Trim() + "\n";

    public static string Draining(int connections) =>
        string.Create(CultureInfo.InvariantCulture, $"draining {connections}\n");

    /// <summary>
    /// A connection passed on: <paramref name="listener"/> is the listening address it was accepted on (as this process's
    /// listener names it; the successor's listener on the same inherited socket names it the same), and
    /// <paramref name="unread"/> the bytes already read from it that no request has used yet, base64 ("-" for none).
    /// The listener goes last: a Unix socket's path may hold spaces.
    /// </summary>
    public static string Moved(string listener, ReadOnlySpan<byte> unread) =>
        "moved " + (unread.IsEmpty ? "-" : Convert.ToBase64String(unread)) + " " + listener.ReplaceLineEndings(" ") + "\n";

    public static HandshakeMessage Parse(string line)
    {
        var parts = line.Split(' ', 3);
        if (parts is ["ready", var pidText, var generationText]
            && int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && int.TryParse(generationText, NumberStyles.None, CultureInfo.InvariantCulture, out var generation))
        {
            return new ReadyMessage(pid, generation);
        }

        if (line.StartsWith("failed ", StringComparison.Ordinal))
        {
            return new FailedMessage(line["failed ".Length..]);
        }

        if (line == "go")
        {
            return new GoMessage();
        }

        if (parts is ["draining", var countText] && int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return new DrainingMessage(count);
        }

        if (parts is ["moved", var unreadText, var listener] && TryDecode(unreadText) is { } unread)
        {
            return new MovedMessage(listener, unread);
        }

        return new FailedMessage($"unexpected handshake line '{line}'");
    }

    private static byte[]? TryDecode(string text)
    {
        if (text == "-")
        {
            return [];
        }

        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

internal sealed record ReadyMessage(int Pid, int Generation) : HandshakeMessage;

internal sealed record FailedMessage(string Reason) : HandshakeMessage;

internal sealed record GoMessage : HandshakeMessage;

internal sealed record DrainingMessage(int Connections) : HandshakeMessage;

/// <summary>A connection the predecessor passed on; its descriptor came with the line (see <see cref="HandshakeMessage.Moved"/>).</summary>
internal sealed record MovedMessage(string Listener, byte[] Unread) : HandshakeMessage;
