using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Baton.IntegrationTests.Infrastructure;

/// <summary>
/// The kernel's view of listening sockets (their inodes, and which processes hold them), Kestrel endpoints written to a
/// server's appsettings.json, and the plainest request over a Unix socket.
/// </summary>
internal static partial class ListeningSockets
{
    /// <summary>The inode of the socket listening on 127.0.0.1:<paramref name="port"/> (/proc/net/tcp, state LISTEN).</summary>
    public static string TcpInode(int port)
    {
        var hexPort = port.ToString("X4", CultureInfo.InvariantCulture);
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields[1].EndsWith(":" + hexPort, StringComparison.Ordinal) && fields[3] == "0A")
            {
                return fields[9];
            }
        }

        throw new InvalidOperationException($"no listening socket on port {port}");
    }

    /// <summary>The inode of the socket listening on the Unix path (/proc/net/unix, flag __SO_ACCEPTCON), or null.</summary>
    public static string? UnixInode(string path)
    {
        foreach (var line in File.ReadLines("/proc/net/unix").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 8 && fields[7] == path && fields[3] == "00010000")
            {
                return fields[6];
            }
        }

        return null;
    }

    /// <summary>Whether process <paramref name="pid"/> has a descriptor for the socket with this inode (a process that is gone has none).</summary>
    public static bool Holds(int pid, string inode)
    {
        try
        {
            return Directory.EnumerateFiles($"/proc/{pid}/fd").Any(fd => LinkTarget(fd) == $"socket:[{inode}]");
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Replaces the Kestrel:Endpoints section of the appsettings.json in <paramref name="directory"/> (temporary file, rename).</summary>
    public static void WriteEndpoints(string directory, JsonObject endpoints)
    {
        var path = Path.Combine(directory, "appsettings.json");
        var settings = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        settings["Kestrel"] = new JsonObject { ["Endpoints"] = endpoints };
        File.WriteAllText(path + ".new", settings.ToJsonString());
        File.Move(path + ".new", path, overwrite: true);
    }

    /// <summary>One GET / over a new connection to the Unix socket; returns the pid in the answer.</summary>
    public static async Task<int> PidAnsweringOnUnixAsync(string path)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        await socket.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"u8.ToArray(), SocketFlags.None);
        var response = new StringBuilder();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
        {
            response.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        var text = response.ToString();
        if (!text.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
        {
            throw new InvalidDataException("unexpected answer: " + text);
        }

        return int.Parse(PidRegex().Match(text).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    [GeneratedRegex("\"pid\":(\\d+)")]
    private static partial Regex PidRegex();
}
