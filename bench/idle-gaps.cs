// Keep-alive clients that pause between requests, never retry, and count what they see. Run by bench/idle-gaps.sh
// (which starts the server and sends the SIGHUPs); stops on SIGTERM or after --max-seconds, then prints one line.
//
//   dotnet run bench/idle-gaps.cs -- --url http://127.0.0.1:PORT/ --mode naive|careful|httpclient
//       [--clients 20] [--gap-ms 1000] [--max-seconds 120]
//
// Each client waits a gap drawn uniformly from 0 to --gap-ms, then sends GET on the connection it holds, and so on.
//   naive      a raw HTTP/1.1 client that sends on its connection without looking at it first (like wrk or ab);
//   careful    the same, but before it reuses a connection it checks whether the server has closed it (a readable socket
//              with nothing to read), and then opens a new one; it never resends a request it has sent;
//   httpclient HttpClient with its default SocketsHttpHandler (one shared pool), every request line on the wire counted:
//              "retried" is how many requests it sent again by itself, out of the application's sight.
// "failed" is a request the application saw fail; "stale" is a closed connection the careful client noticed in time.
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

var url = new Uri(options["url"]);
var mode = options.GetValueOrDefault("mode", "naive");
var clients = int.Parse(options.GetValueOrDefault("clients", "20"), CultureInfo.InvariantCulture);
var gapMs = int.Parse(options.GetValueOrDefault("gap-ms", "1000"), CultureInfo.InvariantCulture);
var maxSeconds = int.Parse(options.GetValueOrDefault("max-seconds", "120"), CultureInfo.InvariantCulture);

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(maxSeconds));
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

var counts = new Counts();
var wire = new WireCounter();
using var http = mode == "httpclient"
    ? new HttpClient(new SocketsHttpHandler { ConnectCallback = wire.ConnectAsync }) { BaseAddress = url }
    : null;

var clock = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, clients).Select(n => Task.Run(() => ClientAsync(n))));
Console.WriteLine(
    $"mode={mode} clients={clients} gap=0-{gapMs}ms seconds={clock.Elapsed.TotalSeconds:F0} requests={counts.Requests} ok={counts.Ok} " +
    $"failed={counts.Failed} stale={counts.Stale} moved={counts.Moved}" +
    (http is null ? string.Empty : $" retried={wire.Requests - counts.Requests}") +
    $" failures=[{string.Join("; ", counts.Kinds.Select(k => $"{k.Key}: {k.Value}"))}]");

async Task ClientAsync(int n)
{
    var random = new Random(n * 7919 + Environment.ProcessId);
    var raw = http is null ? new RawClient(url) : null;
    try
    {
        while (true)
        {
            try
            {
                await Task.Delay(random.Next(0, gapMs + 1), stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref counts.Requests);
            try
            {
                if (raw is not null)
                {
                    if (mode == "careful" && raw.ServerClosed())
                    {
                        Interlocked.Increment(ref counts.Stale);
                        raw.Reset();
                    }

                    var (status, closes) = await raw.GetAsync();
                    counts.Answer(status, closes);
                }
                else
                {
                    using var response = await http!.GetAsync(url.PathAndQuery, CancellationToken.None);
                    await response.Content.ReadAsStringAsync(CancellationToken.None);
                    counts.Answer((int)response.StatusCode, response.Headers.ConnectionClose == true);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or HttpRequestException)
            {
                raw?.Reset();
                var inner = ex.InnerException ?? ex;
                counts.Fail($"{inner.GetType().Name}: {inner.Message}");
            }
        }
    }
    finally
    {
        raw?.Reset();
    }
}

internal sealed class Counts
{
    public int Requests;
    public int Ok;
    public int Failed;
    public int Stale;
    public int Moved;

    public SortedDictionary<string, int> Kinds { get; } = new(StringComparer.Ordinal);

    public void Answer(int status, bool closes)
    {
        if (status is >= 200 and < 300)
        {
            Interlocked.Increment(ref Ok);
        }
        else
        {
            Fail($"HTTP {status}");
        }

        if (closes)
        {
            Interlocked.Increment(ref Moved);
        }
    }

    public void Fail(string kind)
    {
        Interlocked.Increment(ref Failed);
        lock (Kinds)
        {
            Kinds[kind] = Kinds.GetValueOrDefault(kind) + 1;
        }
    }
}

/// <summary>One HTTP/1.1 connection, one request at a time; honours Connection: close; never retries.</summary>
internal sealed class RawClient(Uri server)
{
    private readonly byte[] _request = Encoding.ASCII.GetBytes($"GET {server.PathAndQuery} HTTP/1.1\r\nHost: {server.Authority}\r\n\r\n");
    private Socket? _socket;
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    /// <summary>A held connection whose socket reads as closed: the server closed it while this client was idle.</summary>
    public bool ServerClosed() => _socket is { } s && s.Poll(0, SelectMode.SelectRead) && s.Available == 0;

    public void Reset()
    {
        _socket?.Dispose();
        _socket = null;
        _start = _end = 0;
    }

    public async Task<(int Status, bool Closes)> GetAsync()
    {
        if (_socket is null)
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await _socket.ConnectAsync(server.Host, server.Port);
        }

        await _socket.SendAsync(_request, SocketFlags.None);
        var head = await ReadUntilAsync("\r\n\r\n"u8.ToArray());
        var lines = head.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var closes = lines.Any(l => l.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase) && l.Contains("close", StringComparison.OrdinalIgnoreCase));
        var length = lines.Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)).Select(l => int.Parse(l[15..].Trim(), CultureInfo.InvariantCulture)).FirstOrDefault(-1);
        if (length >= 0)
        {
            await SkipAsync(length);
        }
        else
        {
            while (true)
            {
                var size = int.Parse(await ReadUntilAsync("\r\n"u8.ToArray()), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                await SkipAsync(size + 2);
                if (size == 0)
                {
                    break;
                }
            }
        }

        if (closes)
        {
            Reset();
        }

        return (status, closes);
    }

    private async Task<string> ReadUntilAsync(byte[] marker)
    {
        while (true)
        {
            var at = _buffer.AsSpan(_start, _end - _start).IndexOf(marker);
            if (at >= 0)
            {
                var text = Encoding.ASCII.GetString(_buffer, _start, at);
                _start += at + marker.Length;
                return text;
            }

            await ReceiveAsync();
        }
    }

    private async Task SkipAsync(int count)
    {
        while (_end - _start < count)
        {
            await ReceiveAsync();
        }

        _start += count;
    }

    private async Task ReceiveAsync()
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        var received = await _socket!.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None);
        if (received == 0)
        {
            throw new IOException(_end == 0 ? "closed by the server before any byte of the answer" : "closed by the server within the answer");
        }

        _end += received;
    }
}

/// <summary>Opens HttpClient's connections and counts the request lines written on them.</summary>
internal sealed class WireCounter
{
    private int _requests;

    public int Requests => Volatile.Read(ref _requests);

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancel)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(context.DnsEndPoint, cancel);
        return new Counting(new NetworkStream(socket, ownsSocket: true), this);
    }

    private sealed class Counting(Stream inner, WireCounter counter) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            // HttpClient writes a request's head in one buffer.
            if (buffer.Span.StartsWith("GET "u8))
            {
                Interlocked.Increment(ref counter._requests);
            }

            return inner.WriteAsync(buffer, cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
