using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;

namespace Baton.IntegrationTests.Infrastructure;

/// <summary>How load reaches the server.</summary>
public enum ConnectionMode
{
    /// <summary>One TCP connection per request (like <c>hey -disable-keepalive</c>).</summary>
    NewConnectionPerRequest,

    /// <summary>
    /// Keep-alive connections reused for as long as the server allows, with no retry of any kind (like wrk): a
    /// connection closed under a request that is being sent is a failed request.
    /// </summary>
    KeepAlive,
}

/// <summary>What a load run saw.</summary>
internal sealed record LoadResult(int Succeeded, int Failed, IReadOnlyList<string> Failures, IReadOnlyDictionary<int, int> RequestsByPid)
{
    public override string ToString() =>
        $"{Succeeded} ok, {Failed} failed; by pid: {string.Join(", ", RequestsByPid.Select(p => $"{p.Key}={p.Value}"))}" +
        (Failures.Count > 0 ? "\nfirst failures:\n  " + string.Join("\n  ", Failures) : string.Empty);
}

/// <summary>
/// Bounded concurrent GET load with its own minimal HTTP/1.1 client, so that nothing in a client library retries a
/// failure out of sight. It stops by itself after <c>maxRequests</c> or <c>maxDuration</c>, whichever comes first,
/// or when stopped.
/// </summary>
internal sealed partial class LoadGenerator
{
    private readonly Uri _target;
    private readonly ConnectionMode _mode;
    private readonly int _workers;
    private readonly int _maxRequests;
    private readonly TimeSpan _maxDuration;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, int> _byPid = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private int _succeeded;
    private int _failed;
    private int _issued;
    private Task? _run;

    public LoadGenerator(Uri target, ConnectionMode mode, int workers = 16, int maxRequests = 2_000_000, TimeSpan? maxDuration = null)
    {
        _target = target;
        _mode = mode;
        _workers = workers;
        _maxRequests = maxRequests;
        _maxDuration = maxDuration ?? TimeSpan.FromSeconds(120);
    }

    public int Succeeded => Volatile.Read(ref _succeeded);

    public void Start()
    {
        _stop.CancelAfter(_maxDuration);
        _run = Task.WhenAll(Enumerable.Range(0, _workers).Select(_ => Task.Run(WorkerAsync)));
    }

    /// <summary>Waits until at least <paramref name="count"/> more requests succeeded, so a step happens under real load.</summary>
    public async Task WaitForProgressAsync(int count = 200)
    {
        var target = Succeeded + count;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Succeeded < target)
        {
            if (DateTime.UtcNow > deadline || _stop.IsCancellationRequested)
            {
                throw new TimeoutException($"Load made no progress: {Snapshot()}");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Waits until <paramref name="pid"/> itself answered at least <paramref name="count"/> requests. Progress alone is
    /// not enough after a handover: the old process keeps answering on its keep-alive connections until its drain
    /// begins, which on a busy machine can cover hundreds of requests.
    /// </summary>
    public async Task WaitForServedByAsync(int pid, int count = 200)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (_byPid.GetValueOrDefault(pid) < count)
        {
            if (DateTime.UtcNow > deadline || _stop.IsCancellationRequested)
            {
                throw new TimeoutException($"Process {pid} served fewer than {count} requests: {Snapshot()}");
            }

            await Task.Delay(10);
        }
    }

    public async Task<LoadResult> StopAsync()
    {
        _stop.Cancel();
        await (_run ?? Task.CompletedTask);
        return Snapshot();
    }

    private LoadResult Snapshot() => new(Succeeded, Volatile.Read(ref _failed), _failures.Take(20).ToList(), new Dictionary<int, int>(_byPid));

    private bool NextRequest() => !_stop.IsCancellationRequested && Interlocked.Increment(ref _issued) <= _maxRequests;

    private async Task WorkerAsync()
    {
        var client = new MiniHttpClient(_target);
        try
        {
            while (NextRequest())
            {
                try
                {
                    var (status, body, _) = await client.GetAsync(_target.PathAndQuery, closeAfter: _mode == ConnectionMode.NewConnectionPerRequest, CancellationToken.None);
                    if (status != 200)
                    {
                        Fail($"HTTP {status}: {body}");
                        continue;
                    }

                    var pid = int.Parse(PidRegex().Match(body).Groups[1].Value, CultureInfo.InvariantCulture);
                    _byPid.AddOrUpdate(pid, 1, (_, n) => n + 1);
                    Interlocked.Increment(ref _succeeded);
                }
                catch (Exception ex) when (ex is IOException or SocketException or System.Security.Authentication.AuthenticationException or FormatException or InvalidDataException)
                {
                    client.Reset();
                    Fail($"{ex.GetType().Name}: {ex.Message}");
                }
            }
        }
        finally
        {
            client.Reset();
        }
    }

    private void Fail(string message)
    {
        Interlocked.Increment(ref _failed);
        if (_failures.Count < 100)
        {
            _failures.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {message}");
        }
    }

    [GeneratedRegex("\"pid\":(\\d+)")]
    private static partial Regex PidRegex();
}

/// <summary>
/// The least HTTP/1.1 client that can hold a keep-alive connection: one request at a time, Content-Length bodies,
/// honours <c>Connection: close</c>, never retries. An https address is spoken over TLS, accepting the tests'
/// self-signed certificates.
/// </summary>
internal sealed class MiniHttpClient(Uri server)
{
    private Socket? _socket;
    private Stream? _stream;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private long _bodyRead;

    /// <summary>Called with the body bytes read so far, each time more arrived; the read waits for it to finish.</summary>
    public Func<long, Task>? BodyProgress { get; init; }

    /// <summary>The thumbprint of the certificate the server presented on the last connection this client opened (https only).</summary>
    public string? ServedThumbprint { get; private set; }

    public Task<(int Status, string Body, long Length)> GetAsync(string pathAndQuery, bool closeAfter, CancellationToken cancel, bool keepBody = true) =>
        SendAsync("GET", pathAndQuery, jsonBody: null, bearerToken: null, closeAfter, cancel, keepBody);

    /// <summary>One request on the held connection (opened if need be); a JSON body and a bearer token are optional.</summary>
    public async Task<(int Status, string Body, long Length)> SendAsync(
        string method, string pathAndQuery, string? jsonBody, string? bearerToken, bool closeAfter, CancellationToken cancel, bool keepBody = true)
    {
        if (_socket is null)
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await _socket.ConnectAsync(server.Host, server.Port, cancel);
            _stream = new NetworkStream(_socket, ownsSocket: false);
            _start = _end = 0;
            if (server.Scheme == Uri.UriSchemeHttps)
            {
                var tls = new SslStream(_stream);
                _stream = tls;
                await tls.AuthenticateAsClientAsync(TestCertificates.ClientOptions(), cancel);
                using var served = new X509Certificate2(tls.RemoteCertificate!);
                ServedThumbprint = served.Thumbprint;
            }
        }

        var body = jsonBody is null ? [] : Encoding.UTF8.GetBytes(jsonBody);
        var request = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{method} {pathAndQuery} HTTP/1.1\r\nHost: {server.Authority}\r\n")
            .Append(closeAfter ? "Connection: close\r\n" : string.Empty)
            .Append(bearerToken is null ? string.Empty : $"Authorization: Bearer {bearerToken}\r\n")
            .Append(jsonBody is null ? string.Empty : string.Create(CultureInfo.InvariantCulture, $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n"))
            .Append("\r\n")
            .ToString();
        await _stream!.WriteAsync(Encoding.ASCII.GetBytes(request).Concat(body).ToArray(), cancel);

        var headerEnd = await FillUntilHeadersAsync(cancel);
        var headers = Encoding.ASCII.GetString(_buffer, _start, headerEnd - _start);
        _start = headerEnd + 4;
        var lines = headers.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        long length = 0;
        var serverCloses = false;
        var chunked = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                length = long.Parse(value, CultureInfo.InvariantCulture);
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && value.Contains("close", StringComparison.OrdinalIgnoreCase))
            {
                serverCloses = true;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
            }
        }

        var responseBody = new StringBuilder();
        _bodyRead = 0;
        if (chunked)
        {
            length = 0;
            while (true)
            {
                var sizeLine = await ReadLineAsync(cancel);
                var size = long.Parse(sizeLine.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    // Trailers (none expected), then the blank line that ends the message.
                    while ((await ReadLineAsync(cancel)).Length > 0)
                    {
                    }

                    break;
                }

                await ReadBodyAsync(size, keepBody ? responseBody : null, cancel);
                length += size;
                if ((await ReadLineAsync(cancel)).Length != 0)
                {
                    throw new InvalidDataException("chunk not followed by CRLF");
                }
            }
        }
        else
        {
            await ReadBodyAsync(length, keepBody ? responseBody : null, cancel);
        }

        if (closeAfter || serverCloses)
        {
            Reset();
        }

        return (status, responseBody.ToString(), length);
    }

    public void Reset()
    {
        _stream?.Dispose();
        _stream = null;
        _socket?.Dispose();
        _socket = null;
        _start = _end = 0;
    }

    private async Task ReadBodyAsync(long remaining, StringBuilder? body, CancellationToken cancel)
    {
        while (remaining > 0)
        {
            if (_end == _start)
            {
                await ReceiveMoreAsync(cancel);
            }

            var take = (int)Math.Min(remaining, _end - _start);
            body?.Append(Encoding.UTF8.GetString(_buffer, _start, take));
            _start += take;
            remaining -= take;
            _bodyRead += take;
            if (BodyProgress is { } progress)
            {
                await progress(_bodyRead);
            }
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancel)
    {
        while (true)
        {
            var index = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (index >= 0)
            {
                var line = Encoding.ASCII.GetString(_buffer, _start, index);
                _start += index + 2;
                return line;
            }

            await ReceiveMoreAsync(cancel);
        }
    }

    private async Task<int> FillUntilHeadersAsync(CancellationToken cancel)
    {
        while (true)
        {
            var index = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (index >= 0)
            {
                return _start + index;
            }

            await ReceiveMoreAsync(cancel);
        }
    }

    private async Task ReceiveMoreAsync(CancellationToken cancel)
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
        }

        var received = await _stream!.ReadAsync(_buffer.AsMemory(_end), cancel);
        if (received == 0)
        {
            throw new IOException("connection closed by the server before the response was complete");
        }

        _end += received;
    }
}
