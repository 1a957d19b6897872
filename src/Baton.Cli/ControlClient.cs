using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Baton.Control;

namespace Baton.Cli;

/// <summary>A failure that ends the command with an exit code and a message for the user.</summary>
internal sealed class CommandFailure(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// Talks to the control channel of the server a pid file names. Nothing is ever signalled: a pid file whose process
/// does not answer on the control socket is stale (or not a Baton server), and the command says so.
/// </summary>
internal static class ControlClient
{
    public static async Task<ControlResponse> SendAsync(string pidFile, string request, TimeSpan timeout)
    {
        var path = ControlProtocol.SocketPathFor(pidFile);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            throw new CommandFailure(ExitCodes.NoServer, NoServerMessage(pidFile, path, ex.Message));
        }

        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(request + "\n"), SocketFlags.None, deadline.Token).ConfigureAwait(false);
            var answer = new MemoryStream();
            var buffer = new byte[4096];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token).ConfigureAwait(false)) > 0)
            {
                answer.Write(buffer, 0, read);
            }

            if (answer.Length == 0)
            {
                throw new CommandFailure(ExitCodes.Failed, $"the server on {path} closed the connection without an answer");
            }

            return JsonSerializer.Deserialize(answer.ToArray(), ControlJson.Default.ControlResponse)
                ?? throw new CommandFailure(ExitCodes.Failed, $"the server on {path} answered null");
        }
        catch (OperationCanceledException)
        {
            throw new CommandFailure(ExitCodes.Timeout, $"no answer to '{request}' within {timeout.TotalSeconds:0.###} s (the server may still be working on it; see its log)");
        }
        catch (JsonException ex)
        {
            throw new CommandFailure(ExitCodes.Failed, $"the server on {path} answered something that is not Baton's: {ex.Message}");
        }
        catch (SocketException ex)
        {
            throw new CommandFailure(ExitCodes.Failed, $"the connection to {path} broke before an answer: {ex.Message}");
        }
    }

    /// <summary>Reads the pid file, or explains why it cannot.</summary>
    public static int ReadPid(string pidFile)
    {
        string text;
        try
        {
            text = File.ReadAllText(pidFile).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailure(ExitCodes.NoServer, $"cannot read the pid file {pidFile}: {ex.Message}");
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0
            ? pid
            : throw new CommandFailure(ExitCodes.NoServer, $"the pid file {pidFile} does not hold a pid ('{text}')");
    }

    public static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string NoServerMessage(string pidFile, string socketPath, string error)
    {
        if (!File.Exists(pidFile))
        {
            return $"no Baton server: there is no pid file {pidFile} (is the server running, with Baton:PidFile set to it?)";
        }

        var pid = ReadPid(pidFile);
        if (!IsRunning(pid))
        {
            return $"no Baton server: the pid file {pidFile} names process {pid}, which does not exist (a stale pid file; nothing was sent)";
        }

        string command;
        try
        {
            command = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            command = "?";
        }

        return $"no Baton server answers on {socketPath} ({error}). The pid file {pidFile} names process {pid} ({command}), which is not a Baton server with that pid file - a pid reused by another program, or a server started without it. Nothing was sent to it.";
    }
}
