using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>
/// Several endpoints in Kestrel:Endpoints (HTTP, HTTPS, a Unix socket): each inherited as the very socket it was, and a
/// configuration changed before a SIGHUP applied by the new process - added endpoints bound, removed ones closed.
/// </summary>
public sealed partial class SeveralListenersTests
{
    [Fact]
    public async Task Http_https_and_unix_endpoints_are_each_inherited_as_the_same_socket_and_keep_their_protocol()
    {
        string socketPath = null!;
        string thumbprint = null!;
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, prepare: directory =>
        {
            socketPath = Path.Combine(directory, "app.sock");
            thumbprint = TestCertificates.WritePem(Path.Combine(directory, "cert.pem"), Path.Combine(directory, "key.pem"), "several");
            ListeningSockets.WriteEndpoints(directory, new JsonObject
            {
                ["Http"] = Url("http://127.0.0.1:0"),
                ["Https"] = new JsonObject { ["Url"] = "https://127.0.0.1:0", ["Certificate"] = new JsonObject { ["Path"] = "cert.pem", ["KeyPath"] = "key.pem" } },
                ["Unix"] = Url($"http://unix:{socketPath}"),
            });
            return Task.CompletedTask;
        });
        var http = server.BaseAddress;
        var https = await server.ListeningAddressAsync("https");
        string[] inodes = [ListeningSockets.TcpInode(http.Port), ListeningSockets.TcpInode(https.Port), ListeningSockets.UnixInode(socketPath)!];
        Assert.Equal(3, inodes.Distinct().Count());
        Assert.All(inodes, inode => Assert.True(ListeningSockets.Holds(server.RootPid, inode)));

        var serving = server.RootPid;
        for (var i = 0; i < 2; i++)
        {
            var previous = serving;
            serving = await server.RestartAsync(serving);
            await server.WaitForExitAsync(previous, TimeSpan.FromSeconds(20));

            // The same three sockets, now held by the new process: nothing was bound again, nothing closed.
            Assert.Equal<string[]>(inodes, [ListeningSockets.TcpInode(http.Port), ListeningSockets.TcpInode(https.Port), ListeningSockets.UnixInode(socketPath)!]);
            Assert.All(inodes, inode => Assert.True(ListeningSockets.Holds(serving, inode), $"process {serving} does not hold socket {inode}"));
            Assert.Equal(3, server.CountLines(l => l.Contains($"Process {serving} adopted inherited listener", StringComparison.Ordinal)));

            // Each socket went to its own endpoint: TLS on the HTTPS port, plain HTTP on the others.
            Assert.Equal(serving, await PidAnsweringAsync(http));
            var client = new MiniHttpClient(https);
            var (status, body, _) = await client.GetAsync("/", closeAfter: true, CancellationToken.None);
            Assert.Equal((200, serving), (status, PidOf(body)));
            Assert.Equal(thumbprint, client.ServedThumbprint);
            Assert.Equal(serving, await ListeningSockets.PidAnsweringOnUnixAsync(socketPath));

            // The same through the clients a user would try: curl on the Unix socket, openssl s_client for the
            // certificate served, HttpClient with HTTP/2 over TLS (ALPN h2).
            Assert.Equal(serving, PidOf(await ExternalTool.RunAsync("curl", "-sS", "--max-time", "20", "--unix-socket", socketPath, "http://localhost/")));
            var served = await ExternalTool.RunAsync("openssl", "s_client", "-connect", $"127.0.0.1:{https.Port}", "-servername", "localhost");
            var pem = served[served.IndexOf("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)..(served.IndexOf("-----END CERTIFICATE-----", StringComparison.Ordinal) + "-----END CERTIFICATE-----".Length)];
            using (var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(pem))
            {
                Assert.Equal(thumbprint, certificate.Thumbprint);
            }

            using var http2 = new HttpClient(new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            })
            {
                DefaultRequestVersion = HttpVersion.Version20,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Timeout = TimeSpan.FromSeconds(20),
            };
            using var response = await http2.GetAsync(new Uri($"https://127.0.0.1:{https.Port}/"));
            Assert.Equal((HttpStatusCode.OK, HttpVersion.Version20), (response.StatusCode, response.Version));
            Assert.Equal(serving, PidOf(await response.Content.ReadAsStringAsync()));
        }
    }

    [Fact]
    public async Task An_endpoint_added_to_the_configuration_before_a_sighup_is_bound_by_the_new_process()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, prepare: directory =>
        {
            ListeningSockets.WriteEndpoints(directory, new JsonObject { ["Http"] = Url("http://127.0.0.1:0") });
            return Task.CompletedTask;
        });
        // The added TCP endpoint asks for any port (0): Kestrel binds endpoints in the order of their names, and it
        // comes after "Http", which takes its inherited socket first (see "Several listeners" in the README).
        var socketPath = Path.Combine(server.WorkDirectory, "added.sock");
        ListeningSockets.WriteEndpoints(server.WorkDirectory, new JsonObject
        {
            ["Http"] = Url(server.BaseAddress.ToString()),
            ["HttpAdded"] = Url("http://127.0.0.1:0"),
            ["UnixAdded"] = Url($"http://unix:{socketPath}"),
        });

        var next = await server.RestartAsync(server.RootPid);
        var addresses = await ServedAddressesAsync(server, next);
        var added = new Uri(Assert.Single(addresses, a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal) && new Uri(a).Port != server.Port));
        Assert.Contains($"http://unix:{socketPath}", addresses);

        // The old endpoint inherited, the new ones bound by the new process alone.
        Assert.Single(server.Log.Split('\n'), l => l.Contains($"Process {next} adopted inherited listener", StringComparison.Ordinal));
        Assert.Contains(server.Log.Split('\n'), l => l.Contains($"Process {next} adopted inherited listener tcp:127.0.0.1:{server.Port}", StringComparison.Ordinal));
        Assert.False(ListeningSockets.Holds(server.RootPid, ListeningSockets.TcpInode(added.Port)));
        Assert.False(ListeningSockets.Holds(server.RootPid, ListeningSockets.UnixInode(socketPath)!));
        Assert.Equal(next, await PidAnsweringAsync(added));
        Assert.Equal(next, await ListeningSockets.PidAnsweringOnUnixAsync(socketPath));
        Assert.Equal(next, await PidAnsweringAsync(server.BaseAddress));
    }

    [Fact]
    public async Task An_endpoint_removed_from_the_configuration_before_a_sighup_is_closed_and_its_socket_file_removed()
    {
        string socketPath = null!;
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, prepare: directory =>
        {
            socketPath = Path.Combine(directory, "removed.sock");
            ListeningSockets.WriteEndpoints(directory, new JsonObject
            {
                ["Http"] = Url("http://127.0.0.1:0"),
                ["Unix"] = Url($"http://unix:{socketPath}"),
                ["Other"] = Url("http://127.0.0.1:0"),
            });
            return Task.CompletedTask;
        });
        var other = new Uri(Assert.Single(await ServedAddressesAsync(server, server.RootPid), a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal) && new Uri(a).Port != server.Port));
        Assert.Equal(server.RootPid, await PidAnsweringAsync(other));
        Assert.Equal(server.RootPid, await ListeningSockets.PidAnsweringOnUnixAsync(socketPath));

        ListeningSockets.WriteEndpoints(server.WorkDirectory, new JsonObject { ["Http"] = Url(server.BaseAddress.ToString()) });
        var next = await server.RestartAsync(server.RootPid);
        await server.WaitForLineAsync(l => l.Contains($"Process {next} closed inherited listener(s) tcp:127.0.0.1:{other.Port}", StringComparison.Ordinal));
        await server.WaitForLineAsync(l => l.Contains($"Process {next} closed inherited listener(s) unix:{socketPath}", StringComparison.Ordinal));
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));

        Assert.False(File.Exists(socketPath), "the removed endpoint's socket file is gone");
        Assert.Contains(server.Log.Split('\n'), l => l.Contains($"Process {next} removed Unix socket file {socketPath}", StringComparison.Ordinal));
        Assert.Null(ListeningSockets.UnixInode(socketPath));
        var refused = await Assert.ThrowsAsync<SocketException>(() => PidAnsweringAsync(other));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.Equal(next, await PidAnsweringAsync(server.BaseAddress));
    }

    [Fact]
    public async Task A_new_endpoint_whose_port_is_taken_fails_the_handover_the_old_process_serves_on_and_a_later_sighup_succeeds()
    {
        string socketPath = null!;
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, prepare: directory =>
        {
            socketPath = Path.Combine(directory, "app.sock");
            ListeningSockets.WriteEndpoints(directory, new JsonObject
            {
                ["Http"] = Url("http://127.0.0.1:0"),
                ["Unix"] = Url($"http://unix:{socketPath}"),
            });
            return Task.CompletedTask;
        });

        // Someone else listens on the port the new endpoint asks for. It comes last, so the starting process has
        // already adopted the other two sockets when its bind fails.
        var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        squatter.Listen();
        var taken = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        ListeningSockets.WriteEndpoints(server.WorkDirectory, new JsonObject
        {
            ["Http"] = Url(server.BaseAddress.ToString()),
            ["Unix"] = Url($"http://unix:{socketPath}"),
            ["New"] = Url($"http://127.0.0.1:{taken}"),
        });

        string failure;
        using (squatter)
        {
            server.Signal(server.RootPid, Posix.SIGHUP);
            failure = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal));
            Assert.Equal(0, await server.WaitUntilSettledAsync());

            // The old process serves every endpoint it had, on the same sockets; the starting process left them alone.
            Assert.Equal([server.RootPid], server.AlivePids());
            Assert.Equal(server.RootPid, await PidAnsweringAsync(server.BaseAddress));
            Assert.True(File.Exists(socketPath), "the Unix socket file is still there");
            Assert.Equal(server.RootPid, await ListeningSockets.PidAnsweringOnUnixAsync(socketPath));
        }

        Assert.Contains($"process {server.RootPid} keeps serving", failure, StringComparison.Ordinal);
        Assert.Contains($"Failed to bind to address http://127.0.0.1:{taken}: address already in use", failure, StringComparison.Ordinal);

        // The starting process exits, with code 1, instead of aborting (SIGABRT, a core dump wherever they are kept).
        Assert.Contains("(it exited with code 1)", failure, StringComparison.Ordinal);

        // The port is free now: the same configuration hands over.
        var next = await server.RestartAsync(server.RootPid);
        Assert.Equal(next, await PidAnsweringAsync(new Uri($"http://127.0.0.1:{taken}/")));
        Assert.Equal(next, await ListeningSockets.PidAnsweringOnUnixAsync(socketPath));
        Assert.Equal(next, await PidAnsweringAsync(server.BaseAddress));
    }

    private static JsonObject Url(string url) => new() { ["Url"] = url.TrimEnd('/') };

    private static async Task<int> PidAnsweringAsync(Uri address)
    {
        var (status, body, _) = await new MiniHttpClient(address).GetAsync("/", closeAfter: true, CancellationToken.None);
        Assert.Equal(200, status);
        return PidOf(body);
    }

    /// <summary>
    /// The addresses process <paramref name="pid"/> said it serves on. Waited for: a successor says it after it wrote
    /// the pid file (which is how a restart is seen to be done), and its output is read in the background.
    /// </summary>
    private static async Task<IReadOnlyList<string>> ServedAddressesAsync(ServerProcess server, int pid)
    {
        var line = await server.WaitForLineAsync(l => l.Contains($"Process {pid} (generation ", StringComparison.Ordinal) && l.Contains(" serves on ", StringComparison.Ordinal));
        return line[(line.IndexOf(" serves on ", StringComparison.Ordinal) + " serves on ".Length)..].Trim().Split(", ");
    }

    private static int PidOf(string body) => int.Parse(PidRegex().Match(body).Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex("\"pid\":(\\d+)")]
    private static partial Regex PidRegex();
}
