using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests.Systemd;

/// <summary>
/// Socket activation as systemd does it: the test binds the sockets (it plays the .socket unit and keeps its own copy),
/// and the app is exec'd with them as descriptors 3, 4, ... and LISTEN_PID set to its own pid.
/// </summary>
public sealed class SocketActivationTests
{
    [Fact]
    public async Task A_passed_socket_is_served_without_a_bind_and_handed_over_under_load_as_the_same_socket()
    {
        using var listener = ListeningTcp();
        using var extra = ListeningTcp();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var extraPort = ((IPEndPoint)extra.LocalEndPoint!).Port;
        var inode = Inode(listener);
        var extraInode = Inode(extra);
        string[] urls = ["--urls", $"http://127.0.0.1:{port}"];

        await using (var server = await StartActivatedAsync(SampleApp.Hello, [listener, extra], "http:extra", urls))
        {
            var first = server.RootPid;
            Assert.Equal(port, server.Port);
            Assert.Contains($"Process {first} was passed 2 listening socket(s) by the service manager (socket activation): 3=tcp:127.0.0.1:{port} (http), 4=tcp:127.0.0.1:{extraPort} (extra)", server.Log, StringComparison.Ordinal);
            Assert.Contains($"Process {first} serves socket-activated listener tcp:127.0.0.1:{port} (descriptor 3); nothing is bound", server.Log, StringComparison.Ordinal);
            await server.WaitForLineAsync(l => l.Contains($"Process {first} closed socket-activated listener(s) tcp:127.0.0.1:{extraPort}: no configured endpoint", StringComparison.Ordinal));
            Assert.Contains($"socket:[{inode}]", Posix.DescriptorTargets(first));
            Assert.DoesNotContain($"socket:[{extraInode}]", Posix.DescriptorTargets(first));

            var load = new LoadGenerator(new Uri(server.BaseAddress, "/"), ConnectionMode.KeepAlive, workers: 8);
            load.Start();
            await load.WaitForProgressAsync();
            var second = await server.RestartAsync(first);
            await server.WaitForExitAsync(first, TimeSpan.FromSeconds(20));
            await load.WaitForServedByAsync(second);
            var result = await load.StopAsync();
            Assert.True(result.Failed == 0, result.ToString());

            // The same socket, never bound again: the only listening socket on the port is the test's.
            Assert.Contains($"socket:[{inode}]", Posix.DescriptorTargets(second));
            Assert.DoesNotContain($"socket:[{extraInode}]", Posix.DescriptorTargets(second));
            Assert.Equal([inode], ListeningInodes(port));
            Assert.DoesNotContain(File.ReadAllText($"/proc/{second}/environ").Split('\0'), v => v.StartsWith("LISTEN_", StringComparison.Ordinal));

            server.Signal(second, Posix.SIGTERM);
            await server.WaitForExitAsync(second, TimeSpan.FromSeconds(20));
        }

        // A real stop leaves the service manager's socket listening and untouched (the runtime's abortive close would
        // set SO_LINGER {on, 0}, which every connection accepted later inherits). A client that connects while no
        // process serves waits in its queue, and the next activation answers it.
        Assert.Equal([inode], ListeningInodes(port));
        Assert.False(listener.LingerState!.Enabled, "SO_LINGER was set on the service manager's socket");
        using var early = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await early.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        await early.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"u8.ToArray());
        await using var again = await StartActivatedAsync(SampleApp.Hello, [listener], null, urls);
        using var reply = new StreamReader(new NetworkStream(early));
        var answer = await reply.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("HTTP/1.1 200 OK", answer, StringComparison.Ordinal);
        Assert.Contains($"\"pid\":{again.RootPid}", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_passed_unix_socket_keeps_its_file_after_handover_and_stop_and_an_endpoint_without_a_passed_socket_binds_fresh()
    {
        var path = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.sock");
        try
        {
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(64);

            await using var server = await StartActivatedAsync(SampleApp.Hello, [listener], null, ["--urls", $"http://unix:{path};http://127.0.0.1:0"]);
            var first = server.RootPid;
            Assert.Contains($"Process {first} serves socket-activated listener unix:{path} (descriptor 3)", server.Log, StringComparison.Ordinal);
            Assert.DoesNotContain($"serves socket-activated listener tcp:", server.Log, StringComparison.Ordinal);
            await server.AssertOnlyServerAsync(first);

            var second = await server.RestartAsync(first);
            await server.WaitForExitAsync(first, TimeSpan.FromSeconds(20));
            await server.AssertOnlyServerAsync(second);
            server.Signal(second, Posix.SIGTERM);
            await server.WaitForExitAsync(second, TimeSpan.FromSeconds(20));

            // The file is the socket unit's: a generation that inherited the socket removes the file of one it was
            // handed by a predecessor, never of one the service manager passed.
            Assert.DoesNotContain("removed Unix socket file", server.Log, StringComparison.Ordinal);
            Assert.True(File.Exists(path), "the passed socket's file is still there");
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("exec 3</dev/null", "1", null, "LISTEN_FDS=1: descriptor 3 is not a socket. Fix the .socket unit, or unset LISTEN_FDS and LISTEN_PID to start without socket activation.")]
    [InlineData(":", "x", null, "LISTEN_FDS: 'x' is not a number of descriptors.")]
    [InlineData("exec 3</dev/null", "1", "a:b", "LISTEN_FDNAMES: 2 name(s) for LISTEN_FDS=1 descriptor(s)")]
    public async Task Invalid_socket_activation_fails_the_start_naming_the_variable(string shellPrefix, string fds, string? names, string expected)
    {
        var environment = new Dictionary<string, string> { ["LISTEN_FDS"] = fds };
        if (names is not null)
        {
            environment["LISTEN_FDNAMES"] = names;
        }

        await using var server = await ServerProcess.StartAsync(
            SampleApp.Hello, shellPrefix: shellPrefix + "; export LISTEN_PID=$$", environment: environment, waitUntilServing: false);
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await server.Root.WaitForExitAsync(exit.Token);
        Assert.NotEqual(0, server.Root.ExitCode);
        Assert.Contains(expected, server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LISTEN_FDS_for_another_pid_is_ignored_and_no_process_the_app_starts_sees_it()
    {
        await using var server = await ServerProcess.StartAsync(
            SampleApp.TestApp,
            shellPrefix: "exec 3</dev/null",
            environment: new Dictionary<string, string> { ["LISTEN_PID"] = "1", ["LISTEN_FDS"] = "1", ["LISTEN_FDNAMES"] = "x" });
        Assert.Contains($"Process {server.RootPid}: LISTEN_FDS=1 ignored: LISTEN_PID=1 names another process; it binds its endpoints itself", server.Log, StringComparison.Ordinal);

        foreach (var variable in new[] { "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES" })
        {
            var (status, body, _) = await new MiniHttpClient(server.BaseAddress).GetAsync($"/native-getenv?name={variable}", closeAfter: true, CancellationToken.None);
            Assert.Equal((200, "(unset)"), (status, body));
        }

        var next = await server.RestartAsync(server.RootPid);
        Assert.DoesNotContain(File.ReadAllText($"/proc/{next}/environ").Split('\0'), v => v.StartsWith("LISTEN_", StringComparison.Ordinal));
    }

    /// <summary>
    /// Starts the app with <paramref name="sockets"/> as descriptors 3, 4, ...: each goes through a copy without
    /// close-on-exec (numbered from 200, open only while the shell is started), which the shell moves into place before
    /// it exec's the app, so that LISTEN_PID=$$ is the app's pid.
    /// </summary>
    private static Task<ServerProcess> StartActivatedAsync(SampleApp app, IReadOnlyList<Socket> sockets, string? names, string[] arguments)
    {
        var first = Posix.FreeDescriptorBlock();
        var moves = string.Join(' ', sockets.Select((_, i) => $"{3 + i}<&{first + i} {first + i}<&-"));
        var environment = new Dictionary<string, string> { ["LISTEN_FDS"] = sockets.Count.ToString(CultureInfo.InvariantCulture) };
        if (names is not null)
        {
            environment["LISTEN_FDNAMES"] = names;
        }

        return ServerProcess.StartAsync(
            app,
            arguments,
            shellPrefix: $"exec {moves}; export LISTEN_PID=$$",
            environment: environment,
            shell: "/bin/bash",
            duringStart: () => new Copies(sockets.Select((s, i) => Posix.Inheritable((int)s.Handle, first + i)).ToList()));
    }

    private static Socket ListeningTcp()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(512);
        return socket;
    }

    private static string Inode(Socket socket)
    {
        var target = Posix.DescriptorTarget(Environment.ProcessId, (int)socket.Handle)!;
        return target["socket:[".Length..^1];
    }

    /// <summary>The inodes of the sockets listening on 127.0.0.1:<paramref name="port"/>, from the kernel's table.</summary>
    private static List<string> ListeningInodes(int port)
    {
        var local = $"0100007F:{port.ToString("X4", CultureInfo.InvariantCulture)}";
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields[1] == local && fields[3] == "0A")
            .Select(fields => fields[9])
            .ToList();
    }

    private sealed class Copies(List<Posix.InheritableDescriptor> copies) : IDisposable
    {
        public void Dispose() => copies.ForEach(c => c.Dispose());
    }
}
