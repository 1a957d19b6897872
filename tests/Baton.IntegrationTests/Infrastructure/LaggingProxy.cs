using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Baton.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1 that delivers what the server sends <see cref="Lag"/> late: a client behind it reads a
/// GOAWAY as late as it would across a network, and keeps opening streams meanwhile. Loopback alone has a round trip
/// of microseconds, too short for the race between a client's new streams and a server's final GOAWAY to show.
/// Bytes are relayed as they are (TLS included); the client-to-server direction is not delayed.
/// </summary>
internal sealed class LaggingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<int> _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _relays = [];
    private readonly Task _accepting;

    /// <param name="targetPort">The server's port, asked at each connection (it stays the same across handovers).</param>
    /// <param name="lag">How late the server's bytes reach the client.</param>
    public LaggingProxy(Func<int> targetPort, TimeSpan lag)
    {
        _targetPort = targetPort;
        Lag = lag;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public TimeSpan Lag { get; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                client.NoDelay = true;
                var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort()), _stop.Token);
                lock (_relays)
                {
                    _relays.Add(RelayAsync(client, server));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task RelayAsync(Socket client, Socket server)
    {
        using (client)
        using (server)
        {
            await Task.WhenAll(PumpAsync(client, server, TimeSpan.Zero), PumpAsync(server, client, Lag));
        }
    }

    private async Task PumpAsync(Socket from, Socket to, TimeSpan lag)
    {
        // Each chunk is stamped when read and written once it is `lag` old; an empty chunk is the end of the stream.
        var chunks = Channel.CreateUnbounded<(long Due, byte[] Data)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writer = Task.Run(async () =>
        {
            var open = true;
            await foreach (var (due, data) in chunks.Reader.ReadAllAsync(CancellationToken.None))
            {
                if (!open)
                {
                    continue;
                }

                try
                {
                    if (due > Stopwatch.GetTimestamp())
                    {
                        await Task.Delay(Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due), _stop.Token);
                    }

                    if (data.Length == 0)
                    {
                        to.Shutdown(SocketShutdown.Send);
                        open = false;
                        continue;
                    }

                    await to.SendAsync(data, SocketFlags.None, _stop.Token);
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    // This side is gone (a server that closed with unread input resets): what is left for it is
                    // dropped, and the other direction still delivers what it has, as a network would.
                    open = false;
                }
            }
        });

        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                var due = Stopwatch.GetTimestamp() + (long)(lag.TotalSeconds * Stopwatch.Frequency);
                chunks.Writer.TryWrite((due, buffer.AsSpan(0, read).ToArray()));
                if (read == 0)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A reset or our own disposal: the client sees the connection end, after the lag.
            chunks.Writer.TryWrite((Stopwatch.GetTimestamp() + (long)(lag.TotalSeconds * Stopwatch.Frequency), []));
        }

        chunks.Writer.TryComplete();
        await writer;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] relays;
        lock (_relays)
        {
            relays = [.. _relays];
        }

        await Task.WhenAll(relays);
        _stop.Dispose();
    }
}
