using System.Globalization;

namespace Baton.Handover;

/// <summary>
/// The lines on the handover channel, a socket pair between a process and the successor it starts. The successor says
/// "ready PID GENERATION" or "failed MESSAGE"; the parent answers "go" once it accepts the ready (only then may the
/// successor accept connections), then "draining N" while it finishes its N connections. The channel's end of file
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

        return new FailedMessage($"unexpected handshake line '{line}'");
    }
}

internal sealed record ReadyMessage(int Pid, int Generation) : HandshakeMessage;

internal sealed record FailedMessage(string Reason) : HandshakeMessage;

internal sealed record GoMessage : HandshakeMessage;

internal sealed record DrainingMessage(int Connections) : HandshakeMessage;
