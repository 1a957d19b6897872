using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;

namespace Baton.IntegrationTests.Infrastructure;

/// <summary>
/// A bare HTTP/2 client that never retries and opens its streams on a clock, not when answers arrive (as many
/// independent callers sharing one connection do). It obeys a GOAWAY only once it has read it, and counts every stream
/// it opened as answered (a response ending the stream), refused (above a GOAWAY's last stream id) or failed (reset,
/// or the connection ended under it). h2load opens a stream only when one ends, so it hardly ever has one in flight
/// when a server closes.
/// </summary>
internal sealed class RawHttp2Client
{
    private readonly int _port;
    private readonly bool _tls;
    private int _opened;
    private int _answered;
    private int _refused;
    private int _failed;
    private int _connections;

    public RawHttp2Client(int port, bool tls)
    {
        _port = port;
        _tls = tls;
    }

    public int Opened => Volatile.Read(ref _opened);

    public int Answered => Volatile.Read(ref _answered);

    public int Refused => Volatile.Read(ref _refused);

    public int Failed => Volatile.Read(ref _failed);

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>
    /// Keeps <paramref name="connections"/> connections busy, one new stream on each every <paramref name="interval"/>;
    /// a connection sent away is replaced. Stops opening streams at <paramref name="stop"/> and returns when every
    /// stream has its outcome.
    /// </summary>
    public Task RunAsync(int connections, TimeSpan interval, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await RunConnectionAsync(interval, stop);
            }
        })));

    private async Task RunConnectionAsync(TimeSpan interval, CancellationToken stop)
    {
        Interlocked.Increment(ref _connections);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(System.Net.IPAddress.Loopback, _port);
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (_tls)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            });
            stream = ssl;
        }

        await using var connection = new Connection(this, stream, _tls);
        await connection.StartAsync();
        using var timer = new PeriodicTimer(interval);
        while (!stop.IsCancellationRequested && connection.MayOpen && await timer.WaitForNextTickAsync(CancellationToken.None))
        {
            await connection.OpenStreamAsync();
        }

        // Sent away: wait for the end of the connection. Stopped: for the last answers, then close.
        await (connection.MayOpen ? connection.IdleAsync() : connection.Finished);
    }

    private sealed class Connection(RawHttp2Client owner, Stream stream, bool tls) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _write = new(1, 1);
        private readonly HashSet<int> _outstanding = [];
        private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _stopping;
        private int _nextStreamId = 1;
        private bool _goAway;
        private bool _ended;
        private int _unacknowledgedData;
        private Task? _reading;

        public bool MayOpen
        {
            get
            {
                lock (_outstanding)
                {
                    return !_goAway && !_ended;
                }
            }
        }

        /// <summary>Completes when the connection has ended and every stream on it has its outcome.</summary>
        public Task Finished => _finished.Task;

        /// <summary>Completes when no stream is outstanding any more (or the connection ended).</summary>
        public Task IdleAsync()
        {
            lock (_outstanding)
            {
                _stopping = true;
                if (_outstanding.Count == 0 || _ended)
                {
                    _idle.TrySetResult();
                }
            }

            return Task.WhenAny(_idle.Task, _finished.Task);
        }

        public async Task StartAsync()
        {
            await WriteAsync([.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, .. Http2FrameBytes.Frame(0x4, 0, 0, [])]);
            _reading = Task.Run(ReadAsync);
        }

        public async Task OpenStreamAsync()
        {
            byte[] headers =
            [
                0x82, // :method GET
                tls ? (byte)0x87 : (byte)0x86, // :scheme https / http
                0x84, // :path /
                0x01, 9, .. "127.0.0.1"u8, // :authority, literal without indexing
            ];
            await _write.WaitAsync();
            try
            {
                int id;
                lock (_outstanding)
                {
                    if (_goAway || _ended)
                    {
                        return;
                    }

                    id = _nextStreamId;
                    _nextStreamId += 2;
                    _outstanding.Add(id);
                }

                Interlocked.Increment(ref owner._opened);
                await stream.WriteAsync(Http2FrameBytes.Frame(0x1, 0x5, id, headers)); // END_STREAM | END_HEADERS
                await stream.FlushAsync();
            }
            catch (IOException)
            {
                // The connection ended: the reader settles the stream.
            }
            finally
            {
                _write.Release();
            }
        }

        private async Task ReadAsync()
        {
            var header = new byte[9];
            try
            {
                while (true)
                {
                    await stream.ReadExactlyAsync(header);
                    var length = (header[0] << 16) | (header[1] << 8) | header[2];
                    var type = header[3];
                    var flags = header[4];
                    var id = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue;
                    var payload = new byte[length];
                    await stream.ReadExactlyAsync(payload);
                    switch (type)
                    {
                        case 0x0 or 0x1: // DATA, HEADERS
                            if (type == 0x0 && length > 0)
                            {
                                await CreditAsync(length);
                            }

                            if ((flags & 0x1) != 0)
                            {
                                Settle(id, ref owner._answered);
                            }

                            break;
                        case 0x3: // RST_STREAM
                            Settle(id, ref owner._failed);
                            break;
                        case 0x4 when (flags & 0x1) == 0: // SETTINGS
                            await WriteAsync(Http2FrameBytes.Frame(0x4, 0x1, 0, []));
                            break;
                        case 0x6 when (flags & 0x1) == 0: // PING
                            await WriteAsync(Http2FrameBytes.Frame(0x6, 0x1, 0, payload));
                            break;
                        case 0x7: // GOAWAY: streams above its last stream id were refused
                            var last = BinaryPrimitives.ReadInt32BigEndian(payload) & int.MaxValue;
                            lock (_outstanding)
                            {
                                _goAway = true;
                                foreach (var refused in _outstanding.Where(s => s > last).ToList())
                                {
                                    _outstanding.Remove(refused);
                                    Interlocked.Increment(ref owner._refused);
                                }
                            }

                            break;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or EndOfStreamException or ObjectDisposedException)
            {
                // The end of the connection: what is still outstanding failed with it.
            }

            lock (_outstanding)
            {
                _ended = true;
                Interlocked.Add(ref owner._failed, _outstanding.Count);
                _outstanding.Clear();
            }

            _finished.TrySetResult();
        }

        private void Settle(int id, ref int outcome)
        {
            lock (_outstanding)
            {
                if (_outstanding.Remove(id))
                {
                    Interlocked.Increment(ref outcome);
                }

                if (_stopping && _outstanding.Count == 0)
                {
                    _idle.TrySetResult();
                }
            }
        }

        private async Task CreditAsync(int length)
        {
            // Give the connection's window back in batches (the streams' windows are never exhausted: small answers).
            _unacknowledgedData += length;
            if (_unacknowledgedData >= 16_384)
            {
                var increment = new byte[4];
                BinaryPrimitives.WriteInt32BigEndian(increment, _unacknowledgedData);
                _unacknowledgedData = 0;
                await WriteAsync(Http2FrameBytes.Frame(0x8, 0, 0, increment));
            }
        }

        private async Task WriteAsync(byte[] bytes)
        {
            await _write.WaitAsync();
            try
            {
                await stream.WriteAsync(bytes);
                await stream.FlushAsync();
            }
            catch (IOException)
            {
                // The connection ended: the reader sees it.
            }
            finally
            {
                _write.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stream.DisposeAsync();
            if (_reading is not null)
            {
                await _reading;
            }

            _write.Dispose();
        }
    }
}
