// Keep-alive HTTP/1.1 load that logs every request, for the timeline bench/compare.sh draws. Built and run by it:
//
//   dotnet run bench/timeline-client.cs -- --url http://127.0.0.1:PORT/slow?ms=5 --connections 16 --seconds 16
//       --log requests.tsv
//
// Each connection sends GET, reads the whole answer, and sends the next, until --seconds have passed. It never retries:
// a request that fails (connect, send, read, the server closing before the end of the answer, 10 s without an answer)
// is logged as failed and the next request opens a new connection; so does an answer with `Connection: close`.
// Why not hey or wrk: `hey -o csv` drops transport errors, wrk prints only totals; h2load logs each request, but in
// its -D mode a request lost with its connection (a server that dies) is neither logged nor counted as failed.
//
// The log has one line per request: start (µs since the epoch), status (-1 for a failed request), duration (µs).
// stdout gets the totals: "requests: N total, S 2xx, F failed (E errors)", "req/s: R", and each error's message count.
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

var url = new Uri(options["url"]);
var connections = int.Parse(options.GetValueOrDefault("connections", "16"), CultureInfo.InvariantCulture);
var seconds = double.Parse(options.GetValueOrDefault("seconds", "16"), CultureInfo.InvariantCulture);
var logPath = options["log"];
var request = Encoding.ASCII.GetBytes($"GET {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\n\r\n");

// One clock for start times: the epoch at start plus a monotonic stopwatch (wall-clock steps cannot bend the plot).
var epochUs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;
var clock = Stopwatch.StartNew();
var end = TimeSpan.FromSeconds(seconds);
var errors = new Dictionary<string, int>(StringComparer.Ordinal);
var logs = new List<(long StartUs, int Status, long DurationUs)>[connections];

await Task.WhenAll(Enumerable.Range(0, connections).Select(i => Task.Run(() => RunAsync(i))));
var elapsed = clock.Elapsed.TotalSeconds;

var all = logs.SelectMany(l => l).OrderBy(r => r.StartUs).ToList();
using (var log = new StreamWriter(logPath))
{
    foreach (var (start, status, duration) in all)
    {
        log.Write(string.Create(CultureInfo.InvariantCulture, $"{start}\t{status}\t{duration}\n"));
    }
}

var ok = all.Count(r => r.Status is >= 200 and < 300);
var failedRequests = all.Count(r => r.Status == -1);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"requests: {all.Count} total, {ok} 2xx, {all.Count - ok} failed ({failedRequests} errors)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"req/s: {all.Count / elapsed:F0}"));
foreach (var (message, count) in errors.OrderByDescending(e => e.Value))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"error: {count} x {message}"));
}

async Task RunAsync(int index)
{
    var log = logs[index] = new List<(long, int, long)>(1 << 16);
    var buffer = new byte[64 * 1024];
    Socket? socket = null;
    while (clock.Elapsed < end)
    {
        var started = clock.Elapsed;
        int status;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            if (socket is null)
            {
                socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(url.Host, url.Port, timeout.Token);
            }

            await socket.SendAsync(request, SocketFlags.None, timeout.Token);
            (status, var close) = await ReadAnswerAsync(socket, buffer, timeout.Token);
            if (close)
            {
                socket.Dispose();
                socket = null;
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or InvalidDataException)
        {
            status = -1;
            socket?.Dispose();
            socket = null;
            lock (errors)
            {
                var message = e is SocketException se ? se.SocketErrorCode.ToString() : e.GetType().Name + ": " + e.Message;
                errors[message] = errors.GetValueOrDefault(message) + 1;
            }
        }

        var duration = clock.Elapsed - started;
        log.Add((epochUs + started.Ticks / 10, status, duration.Ticks / 10));
        if (status == -1)
        {
            // Bounds a loop of instant failures (nothing listening); the next request is a new one, never a retry.
            await Task.Delay(10);
        }
    }

    socket?.Dispose();
}

// Reads one answer: status line, headers, then a Content-Length body or a chunked one (up to its last, empty chunk).
static async Task<(int Status, bool Close)> ReadAnswerAsync(Socket socket, byte[] buffer, CancellationToken cancel)
{
    var filled = 0;
    var bodyStart = -1;
    int status = 0, contentLength = -1;
    bool chunked = false, close = false;
    while (true)
    {
        if (filled == buffer.Length)
        {
            throw new InvalidDataException("answer larger than the buffer");
        }

        var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancel);
        if (read == 0)
        {
            throw new IOException(bodyStart < 0 ? "closed by the server before any byte of the answer" : "closed by the server mid-answer");
        }

        filled += read;
        if (bodyStart < 0)
        {
            var end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                continue;
            }

            bodyStart = end + 4;
            var lines = Encoding.ASCII.GetString(buffer, 0, end).Split("\r\n");
            status = int.Parse(lines[0].AsSpan(9, 3), CultureInfo.InvariantCulture);
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var name = line[..colon].Trim();
                var value = line[(colon + 1)..].Trim();
                if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    contentLength = int.Parse(value, CultureInfo.InvariantCulture);
                }
                else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                {
                    chunked = value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
                }
                else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
                {
                    close = value.Contains("close", StringComparison.OrdinalIgnoreCase);
                }
            }
        }

        if (contentLength >= 0 ? filled - bodyStart >= contentLength
            : chunked ? filled - bodyStart >= 5 && buffer.AsSpan(filled - 5, 5).SequenceEqual("0\r\n\r\n"u8)
            : throw new InvalidDataException("an answer with neither Content-Length nor chunked"))
        {
            return (status, close);
        }
    }
}
