using System.Globalization;

namespace Baton.Handover;

/// <summary>One line a successor writes on the handshake pipe: "ready PID GENERATION" or "failed MESSAGE".</summary>
internal abstract record HandshakeMessage
{
    public static string Ready(int pid, int generation) =>
        string.Create(CultureInfo.InvariantCulture, $"ready {pid} {generation}\n");

    public static string Failed(string reason) =>
        "failed " + reason.ReplaceLineEndings(" ").Trim() + "\n";

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

        return new FailedMessage($"unexpected handshake line '{line}'");
    }
}

internal sealed record ReadyMessage(int Pid, int Generation) : HandshakeMessage;

internal sealed record FailedMessage(string Reason) : HandshakeMessage;
