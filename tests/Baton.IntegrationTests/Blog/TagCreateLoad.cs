using System.Collections.Concurrent;
using System.Globalization;
using Baton.IntegrationTests.Infrastructure;

namespace Baton.IntegrationTests.Blog;

/// <summary>What a write load saw: every create the server acknowledged (by id), and every failure.</summary>
internal sealed record WriteLoadResult(IReadOnlyCollection<long> AcknowledgedIds, int Failed, IReadOnlyList<string> Failures)
{
    public override string ToString() =>
        $"{AcknowledgedIds.Count} acknowledged, {Failed} failed" +
        (Failures.Count > 0 ? "\nfirst failures:\n  " + string.Join("\n  ", Failures) : string.Empty);
}

/// <summary>
/// Concurrent <c>POST /api/v1/tags</c>, each with a name no other request uses: over a new connection each, or over
/// keep-alive connections held by the test's own client, which never retries (a write the server drops under a
/// client that is sending is a failure here). Bounded: it stops by itself after <c>maxRequests</c> or
/// <c>maxDuration</c>, whichever comes first, or when stopped.
/// </summary>
internal sealed class TagCreateLoad(
    BlogClient client, Uri server, string prefix, ConnectionMode mode, int workers = 8, int maxRequests = 50_000, TimeSpan? maxDuration = null)
{
    private readonly CancellationTokenSource stop = new();
    private readonly ConcurrentBag<long> acknowledged = [];
    private readonly ConcurrentQueue<string> failures = new();
    private int failed;
    private int issued;
    private Task? run;

    public int Acknowledged => acknowledged.Count;

    public void Start()
    {
        stop.CancelAfter(maxDuration ?? TimeSpan.FromSeconds(120));
        run = Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkerAsync(w))));
    }

    /// <summary>Waits until at least <paramref name="count"/> more creates were acknowledged.</summary>
    public async Task WaitForProgressAsync(int count = 50)
    {
        var target = Acknowledged + count;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (Acknowledged < target)
        {
            if (DateTime.UtcNow > deadline || stop.IsCancellationRequested)
            {
                throw new TimeoutException($"Write load made no progress: {Snapshot()}");
            }

            await Task.Delay(10);
        }
    }

    public async Task<WriteLoadResult> StopAsync()
    {
        await stop.CancelAsync();
        await (run ?? Task.CompletedTask);
        return Snapshot();
    }

    private WriteLoadResult Snapshot() => new(acknowledged.ToArray(), Volatile.Read(ref failed), failures.Take(20).ToList());

    private async Task WorkerAsync(int worker)
    {
        var connection = new MiniHttpClient(server);

        // Requests already sent finish even after a stop: the stop only ends the loop, so no request is cut short.
        for (var i = 0; !stop.IsCancellationRequested && Interlocked.Increment(ref issued) <= maxRequests; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"{prefix}-{worker}-{i}");
            var body = $$"""{"name":"{{name}}","created_by":"load","state":1}""";
            try
            {
                var (status, json) = mode == ConnectionMode.KeepAlive
                    ? await SendKeepAliveAsync(connection, body)
                    : await client.SendAsync(HttpMethod.Post, "/api/v1/tags", body);
                if (status == 200 && json.GetProperty("code").GetInt32() == 200)
                {
                    acknowledged.Add(json.GetProperty("data").GetProperty("id").GetInt64());
                }
                else
                {
                    Fail($"{name}: HTTP {status} {json}");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException or System.Text.Json.JsonException
                or System.Net.Sockets.SocketException or InvalidDataException)
            {
                connection.Reset();
                Fail($"{name}: {ex.GetType().Name}: {ex.Message}");
            }
        }

        connection.Reset();
    }

    private async Task<(int Status, System.Text.Json.JsonElement Json)> SendKeepAliveAsync(MiniHttpClient connection, string body)
    {
        var (status, text, _) = await connection.SendAsync("POST", "/api/v1/tags", body, client.Token, closeAfter: false, CancellationToken.None);
        using var document = System.Text.Json.JsonDocument.Parse(text);
        return (status, document.RootElement.Clone());
    }

    private void Fail(string message)
    {
        Interlocked.Increment(ref failed);
        if (failures.Count < 100)
        {
            failures.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {message}");
        }
    }
}
