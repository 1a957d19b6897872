using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>ReadTimeout, WriteTimeout and MaxHeaderBytes do what they say, and nothing when unset.</summary>
public sealed class KestrelSettingsTests
{
    [Fact]
    public async Task Hello_keeps_kestrels_32_KiB_header_limit_a_40_KiB_header_gets_431()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        Assert.Equal(431, await StatusWithHeaderAsync(server, 40 * 1024));
        Assert.Equal(200, await StatusWithHeaderAsync(server, 16 * 1024));
    }

    [Fact]
    public async Task MaxHeaderBytes_when_set_raises_the_limit()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Baton:MaxHeaderBytes=1048576"]);
        Assert.Equal(200, await StatusWithHeaderAsync(server, 40 * 1024));
        Assert.Equal(431, await StatusWithHeaderAsync(server, 1100 * 1024));
    }

    [Fact]
    public async Task A_header_limit_the_app_set_in_ConfigureKestrel_stands_when_MaxHeaderBytes_is_unset()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp, ["--TestApp:KestrelHeaderLimit=8192"]);
        Assert.Equal(431, await StatusWithHeaderAsync(server, 12 * 1024));
        Assert.Equal(200, await StatusWithHeaderAsync(server, 4 * 1024));
    }

    [Fact]
    public async Task ReadTimeout_closes_a_client_that_stalls_in_its_headers()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Baton:ReadTimeout=00:00:01"]);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.BaseAddress.Host, server.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n"));

        // Kestrel checks its timeouts once a second: the request is cut off (408) within the timeout plus that tick.
        var clock = Stopwatch.StartNew();
        var answer = await ReadToEndAsync(socket, TimeSpan.FromSeconds(10));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"closed after {clock.ElapsedMilliseconds} ms");
        Assert.StartsWith("HTTP/1.1 408", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteTimeout_answers_504_but_endpoints_with_their_own_timeout_metadata_run_on()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp, ["--Baton:WriteTimeout=00:00:01"]);
        var client = new MiniHttpClient(server.BaseAddress);

        Assert.Equal(504, (await client.GetAsync("/slow?ms=3000", closeAfter: true, CancellationToken.None)).Status);
        Assert.Equal(200, (await client.GetAsync("/slow?ms=10", closeAfter: true, CancellationToken.None)).Status);

        // .DisableRequestTimeout(), as an SSE, WebSocket or download endpoint would say.
        var (status, body, _) = await client.GetAsync("/unlimited?ms=2500", closeAfter: true, CancellationToken.None);
        Assert.Equal((200, "unlimited done"), (status, body));

        // .WithRequestTimeout(30 s): the endpoint's own, longer timeout wins.
        (status, body, _) = await client.GetAsync("/own-timeout?ms=2500", closeAfter: true, CancellationToken.None);
        Assert.Equal((200, "own timeout done"), (status, body));
    }

    private static async Task<int> StatusWithHeaderAsync(ServerProcess server, int headerBytes)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.BaseAddress.Host, server.Port);
        var request = $"GET / HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', headerBytes)}\r\nConnection: close\r\n\r\n";
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(request));
        }
        catch (SocketException)
        {
            // Kestrel may answer 431 and close before it has read the whole header; the answer is still there.
        }

        var answer = await ReadToEndAsync(socket, TimeSpan.FromSeconds(10));
        return int.Parse(answer.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> ReadToEndAsync(Socket socket, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var text = new StringBuilder();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token)) > 0)
            {
                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (SocketException) when (text.Length > 0)
        {
            // A reset after the answer (Kestrel closing on unread request bytes) leaves the answer intact.
        }

        return text.ToString();
    }
}
