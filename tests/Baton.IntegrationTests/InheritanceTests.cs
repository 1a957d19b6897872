using System.Globalization;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>Exactly the listeners and the handshake pipe cross a handover, and bad handover input fails clearly.</summary>
public sealed class InheritanceTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_descriptor_leaked_by_the_launching_shell_does_not_reach_the_next_generation(bool portableSpawn)
    {
        // Portable: what runs on glibc before 2.34 and on musl (no addclosefrom_np), forced here on a glibc that has it.
        var marker = Path.GetTempFileName();
        try
        {
            await using var server = await ServerProcess.StartAsync(
                SampleApp.Hello,
                shellPrefix: $"exec 9<'{marker}'",
                environment: portableSpawn ? new Dictionary<string, string> { ["BATON_PORTABLE_SPAWN"] = "1" } : null);
            Assert.Contains(server.RootPid, PidsHolding(marker, server.KnownPids));
            Assert.Equal(portableSpawn, server.Log.Contains("descriptors closed one by one, directory changed around the spawn (portable)", StringComparison.Ordinal));

            var next = await server.RestartAsync(server.RootPid);
            Assert.DoesNotContain(next, PidsHolding(marker, [next]));

            // The adopted listener is close-on-exec again in the successor, so a process it starts does not get it.
            var listenerInode = ListeningSockets.TcpInode(server.Port);
            var adopted = Directory.EnumerateFiles($"/proc/{next}/fd")
                .Where(fd => ReadLink(fd) == $"socket:[{listenerInode}]")
                .ToList();
            Assert.Single(adopted);
            Assert.True(IsCloseOnExec(next, Path.GetFileName(adopted[0])), "the adopted listener must be close-on-exec again");
        }
        finally
        {
            File.Delete(marker);
        }
    }

    [Fact]
    public async Task A_unix_socket_listener_is_handed_over_with_its_path()
    {
        var socketPath = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.sock");
        try
        {
            await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--urls", $"http://unix:{socketPath};http://127.0.0.1:0"]);
            Assert.Contains(server.RootPid, await PidsAnsweringOnAsync(socketPath, 1));

            var next = await server.RestartAsync(server.RootPid);
            await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));
            Assert.Contains(server.Log.Split('\n'), l => l.Contains($"Process {next} adopted inherited listener unix:{socketPath}", StringComparison.Ordinal));
            Assert.Equal([next], await PidsAnsweringOnAsync(socketPath, 5));
        }
        finally
        {
            File.Delete(socketPath);
        }
    }

    [Fact]
    public async Task A_unix_socket_server_handed_over_then_stopped_can_be_started_again_on_the_same_path()
    {
        var socketPath = Path.Combine(Path.GetTempPath(), $"baton-test-{Guid.NewGuid():N}.sock");
        string[] urls = ["--urls", $"http://unix:{socketPath};http://127.0.0.1:0"];
        try
        {
            await using (var server = await ServerProcess.StartAsync(SampleApp.Hello, urls))
            {
                var next = await server.RestartAsync(server.RootPid);
                await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));
                Assert.True(File.Exists(socketPath), "a handover keeps the socket file");

                server.Signal(next, Posix.SIGTERM);
                await server.WaitForExitAsync(next, TimeSpan.FromSeconds(20));

                // Waited for: its last lines can reach the harness after it is gone (see SignalTests).
                await server.WaitForLineAsync(l => l.Contains($"Process {next} removed Unix socket file {socketPath}", StringComparison.Ordinal));
            }

            Assert.False(File.Exists(socketPath), "the final stop removes the socket file");
            await using var again = await ServerProcess.StartAsync(SampleApp.Hello, urls);
            Assert.Equal([again.RootPid], await PidsAnsweringOnAsync(socketPath, 2));

            // A first generation that never handed over: the runtime removes the file it bound, and Baton leaves it to.
            again.Signal(again.RootPid, Posix.SIGTERM);
            await again.WaitForExitAsync(again.RootPid, TimeSpan.FromSeconds(20));
            Assert.False(File.Exists(socketPath));
        }
        finally
        {
            File.Delete(socketPath);
        }
    }

    private static async Task<List<int>> PidsAnsweringOnAsync(string socketPath, int requests)
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancel) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath), cancel);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        using var client = new HttpClient(handler);
        var pids = new List<int>();
        for (var i = 0; i < requests; i++)
        {
            var body = await client.GetStringAsync(new Uri("http://localhost/"));
            pids.Add(int.Parse(System.Text.RegularExpressions.Regex.Match(body, "\"pid\":(\\d+)").Groups[1].Value, CultureInfo.InvariantCulture));
        }

        return pids.Distinct().ToList();
    }

    [Theory]
    [InlineData("BATON_LISTEN_FDS", "abc", "BATON_LISTEN_FDS: entry 'abc' is not of the form")]
    [InlineData("BATON_LISTEN_FDS", "1000=tcp:127.0.0.1:1", "BATON_LISTEN_FDS: descriptor 1000 (tcp:127.0.0.1:1) is not open")]
    [InlineData("BATON_LISTEN_FDS", "0=tcp:127.0.0.1:1", "is not a whole number of at least 3")]
    [InlineData("BATON_LISTEN_FDS", "58=http://x", "is not an endpoint of the form")]
    [InlineData("BATON_CHANNEL_FD", "x", "BATON_CHANNEL_FD: 'x' is not a whole number")]
    [InlineData("BATON_CHANNEL_FD", "8", "BATON_CHANNEL_FD=8: descriptor 8 is not a connected stream socket")]
    [InlineData("BATON_STDERR_RELAY_FD", "300", "BATON_STDERR_RELAY_FD=300: descriptor 300 is not open")]
    [InlineData("BATON_GENERATION", "1", "BATON_GENERATION: '1' is not a whole number of at least 2")]
    public async Task Invalid_handover_environment_fails_the_start_naming_the_variable(string variable, string value, string expected)
    {
        // Descriptors 5, 6 and 7, opened by the shell, stand in for the channel and the standard-error pair. None is a
        // socket, but the channel is checked last, after everything each case breaks; the channel case names 8, also open.
        var environment = new Dictionary<string, string>
        {
            ["BATON_LISTEN_FDS"] = string.Empty,
            ["BATON_CHANNEL_FD"] = "5",
            ["BATON_STDERR_FD"] = "6",
            ["BATON_STDERR_RELAY_FD"] = "7",
            ["BATON_GENERATION"] = "2",
            ["BATON_PARENT_PID"] = "1",
        };
        environment[variable] = value;

        await using var server = await ServerProcess.StartAsync(
            SampleApp.Hello, shellPrefix: "exec 5>/dev/null 6>/dev/null 7</dev/null 8>/dev/null", environment: environment, waitUntilServing: false);
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await server.Root.WaitForExitAsync(exit.Token);
        Assert.NotEqual(0, server.Root.ExitCode);
        Assert.Contains(expected, server.Log, StringComparison.Ordinal);
    }

    private static List<int> PidsHolding(string path, IEnumerable<int> pids) =>
        pids.Where(pid => Directory.Exists($"/proc/{pid}/fd")
                && Directory.EnumerateFiles($"/proc/{pid}/fd").Any(fd => ReadLink(fd) == path))
            .ToList();

    private static string? ReadLink(string path)
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

    private static bool IsCloseOnExec(int pid, string fd)
    {
        var flags = File.ReadLines($"/proc/{pid}/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
        var value = Convert.ToInt32(flags["flags:".Length..].Trim(), 8);
        return (value & 0x80000) != 0;
    }
}
