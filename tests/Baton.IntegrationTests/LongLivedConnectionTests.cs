using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>
/// WebSockets and server-sent events across handovers: samples/Hello's /ws and /events use IBatonDrainSignal to send
/// their clients to the new process (a 1012 close, a retry hint), so each old process exits as soon as they moved; one
/// that ignores the signal is ended at HammerTime.
/// </summary>
public sealed class LongLivedConnectionTests
{
    private const int Restarts = 5;

    // Long on purpose: an old process that exits only at HammerTime fails the "exits promptly" assertion by far.
    private static readonly string[] LongHammerTime = ["--Baton:HammerTime=00:00:30"];
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_reconnecting_WebSocket_client_gets_every_message_echoed_across_five_restarts()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, LongHammerTime);
        var client = new ReconnectingEchoClient(new Uri($"ws://127.0.0.1:{server.Port}/ws"));
        var run = Task.Run(client.RunAsync);
        var serving = server.RootPid;
        for (var i = 0; i < Restarts; i++)
        {
            await client.WaitForEchoesAsync(100);
            var old = serving;
            serving = await server.RestartAsync(old);

            // Told to move (1012), the client reconnects to the new process: nothing holds the old one until HammerTime.
            var drainStarted = Stopwatch.StartNew();
            await server.WaitForExitAsync(old, Prompt);
            Assert.Contains("drain ended: Drained", await server.DrainEndedAsync(old), StringComparison.Ordinal);
            Assert.True(drainStarted.Elapsed < Prompt, $"process {old} took {drainStarted.ElapsedMilliseconds} ms to exit");
        }

        await client.WaitForEchoesAsync(100);
        client.Stop();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(client.Errors.Count == 0, string.Join("\n", client.Errors));
        Assert.Equal(client.Sent, client.Echoed);
        Assert.True(client.Sent > Restarts * 100, $"{client.Sent} messages");
        Assert.Equal(Enumerable.Repeat<WebSocketCloseStatus?>((WebSocketCloseStatus)1012, Restarts), client.ServerCloses);
        Assert.Equal(Restarts + 1, client.Connections);
        Assert.Equal([serving], server.AlivePids());
    }

    [Fact]
    public async Task An_SSE_client_resuming_with_Last_Event_ID_misses_no_event_across_five_restarts()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, LongHammerTime);
        var client = new ResumingEventClient(server.BaseAddress);
        var run = Task.Run(client.RunAsync);
        var serving = server.RootPid;
        var generations = new List<int> { serving };
        for (var i = 0; i < Restarts; i++)
        {
            await client.WaitForEventsFromAsync(serving, 5);
            var old = serving;
            serving = await server.RestartAsync(old);
            generations.Add(serving);

            var drainStarted = Stopwatch.StartNew();
            await server.WaitForExitAsync(old, Prompt);
            Assert.Contains("drain ended: Drained", await server.DrainEndedAsync(old), StringComparison.Ordinal);
            Assert.True(drainStarted.Elapsed < Prompt, $"process {old} took {drainStarted.ElapsedMilliseconds} ms to exit");
        }

        await client.WaitForEventsFromAsync(serving, 5);
        await client.StopAsync(run);

        Assert.True(client.Errors.Count == 0, string.Join("\n", client.Errors));

        // Contiguous from 1: no event missed, none seen twice.
        var ids = client.Ids;
        Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => (long)i), ids);
        Assert.Equal(Enumerable.Repeat<int?>(100, Restarts), client.StreamEnds);
        Assert.Equal(generations, client.PidsInOrder);
        Assert.Equal([serving], server.AlivePids());
    }

    [Fact]
    public async Task A_WebSocket_that_ignores_the_drain_signal_is_aborted_at_HammerTime()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp, ["--Baton:HammerTime=00:00:03"]);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{server.Port}/ws-deaf"), CancellationToken.None);
        Assert.Equal("before", await EchoAsync(socket, "before"));

        var old = server.RootPid;
        await server.RestartAsync(old);
        var drainStarted = Stopwatch.StartNew();

        // The old process still serves this connection: the handler never looks at the signal.
        Assert.Equal("while draining", await EchoAsync(socket, "while draining"));

        // Then HammerTime (3 s) aborts it: no close frame, the connection is simply gone. The lower bound is loose: the
        // stopwatch starts when the log line arrives, which may lag the drain's start on a busy machine.
        var receive = socket.ReceiveAsync(new byte[16], CancellationToken.None);
        var aborted = await Assert.ThrowsAsync<WebSocketException>(() => receive.WaitAsync(TimeSpan.FromSeconds(20)));
        var at = drainStarted.Elapsed;
        Assert.True(at > TimeSpan.FromSeconds(1.5) && at < TimeSpan.FromSeconds(6), $"aborted after {at.TotalMilliseconds} ms: {aborted.Message}");
        await server.WaitForExitAsync(old, TimeSpan.FromSeconds(5));
        Assert.Contains("drain ended: HammerTimeElapsed", await server.DrainEndedAsync(old), StringComparison.Ordinal);
    }

    private static async Task<string> EchoAsync(ClientWebSocket socket, string text)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        return await ReceiveMessageAsync(socket) ?? throw new InvalidOperationException($"closed: {socket.CloseStatus}");
    }

    /// <summary>One whole message, or null when the server closed.</summary>
    private static async Task<string?> ReceiveMessageAsync(ClientWebSocket socket)
    {
        var buffer = new byte[8192];
        using var message = new MemoryStream();
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Write(buffer, 0, received.Count);
            if (received.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.ToArray());
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> describe)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException(describe());
            }

            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Sends one message at a time and waits for its echo; on a close from the server it answers the close, reconnects
    /// and sends again the message whose echo it did not get (the server may not send data after its close). Never
    /// retries anything else: an error is recorded, and the test fails on it.
    /// </summary>
    private sealed class ReconnectingEchoClient(Uri uri)
    {
        private readonly List<string> _errors = [];
        private readonly List<WebSocketCloseStatus?> _serverCloses = [];
        private volatile bool _stop;
        private int _echoed;

        public int Sent { get; private set; }

        public int Echoed => Volatile.Read(ref _echoed);

        public int Connections { get; private set; }

        public IReadOnlyList<string> Errors => _errors;

        public IReadOnlyList<WebSocketCloseStatus?> ServerCloses => _serverCloses;

        public void Stop() => _stop = true;

        public Task WaitForEchoesAsync(int more)
        {
            var target = Echoed + more;
            return WaitUntilAsync(() => Echoed >= target || _errors.Count > 0, () => $"{Echoed} echoes, errors: {string.Join("; ", _errors)}");
        }

        public async Task RunAsync()
        {
            var next = 0;
            while (!_stop && _errors.Count == 0)
            {
                using var socket = new ClientWebSocket();
                try
                {
                    await socket.ConnectAsync(uri, CancellationToken.None);
                    Connections++;
                    while (true)
                    {
                        if (_stop)
                        {
                            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
                            return;
                        }

                        var message = Message(next);
                        await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                        Sent = Math.Max(Sent, next + 1);
                        var echo = await ReceiveMessageAsync(socket);
                        if (echo is null)
                        {
                            _serverCloses.Add(socket.CloseStatus);
                            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "reconnecting", CancellationToken.None);
                            break;
                        }

                        if (echo != message)
                        {
                            _errors.Add($"message {next}: echo of {echo.Length} chars does not match");
                        }

                        Interlocked.Increment(ref _echoed);
                        next++;
                    }
                }
                catch (Exception ex) when (ex is WebSocketException or IOException or System.Net.Sockets.SocketException)
                {
                    _errors.Add($"message {next}: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }

        // Every tenth message spans several frames of the server's 16 KiB buffer.
        private static string Message(int n) =>
            n % 10 == 9 ? $"message {n} " + new string((char)('a' + (n % 26)), 40_000) : $"message {n}";
    }

    /// <summary>
    /// An EventSource-like client: reads events, and when the stream ends waits the server's retry hint and reconnects with
    /// Last-Event-ID. Records every event id, the process named in each event, and each stream end with its retry hint.
    /// </summary>
    private sealed class ResumingEventClient(Uri server)
    {
        private readonly List<string> _errors = [];
        private readonly List<long> _ids = [];
        private readonly List<int> _pids = [];
        private readonly List<int?> _streamEnds = [];
        private readonly CancellationTokenSource _stop = new();

        public IReadOnlyList<string> Errors => _errors;

        public List<long> Ids
        {
            get
            {
                lock (_ids)
                {
                    return [.. _ids];
                }
            }
        }

        /// <summary>The pids that sent events, each once, in the order the client met them.</summary>
        public IReadOnlyList<int> PidsInOrder
        {
            get
            {
                lock (_ids)
                {
                    return [.. _pids.Distinct()];
                }
            }
        }

        public IReadOnlyList<int?> StreamEnds => _streamEnds;

        public Task WaitForEventsFromAsync(int pid, int count) =>
            WaitUntilAsync(
                () =>
                {
                    lock (_ids)
                    {
                        return _pids.Count(p => p == pid) >= count || _errors.Count > 0;
                    }
                },
                () => $"{Ids.Count} events, none enough from {pid}; errors: {string.Join("; ", _errors)}");

        public async Task StopAsync(Task run)
        {
            await _stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
        }

        public async Task RunAsync()
        {
            using var http = new HttpClient { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan };
            long last = 0;
            while (!_stop.IsCancellationRequested && _errors.Count == 0)
            {
                int? retry = null;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, "/events");
                    if (last > 0)
                    {
                        request.Headers.Add("Last-Event-ID", last.ToString(CultureInfo.InvariantCulture));
                    }

                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
                    if (!response.IsSuccessStatusCode)
                    {
                        _errors.Add($"HTTP {(int)response.StatusCode}");
                        return;
                    }

                    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(_stop.Token));
                    long? id = null;
                    string? data = null;
                    while (await reader.ReadLineAsync(_stop.Token) is { } line)
                    {
                        if (line.Length == 0)
                        {
                            if (id is { } received && data is not null)
                            {
                                Dispatch(received, data, last);
                                last = received;
                            }

                            (id, data) = (null, null);
                        }
                        else if (line.StartsWith("id: ", StringComparison.Ordinal))
                        {
                            id = long.Parse(line[4..], CultureInfo.InvariantCulture);
                        }
                        else if (line.StartsWith("data: ", StringComparison.Ordinal))
                        {
                            data = line[6..];
                        }
                        else if (line.StartsWith("retry: ", StringComparison.Ordinal))
                        {
                            retry = int.Parse(line[7..], CultureInfo.InvariantCulture);
                        }
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException)
                {
                    _errors.Add($"after event {last}: {ex.GetType().Name}: {ex.Message}");
                    return;
                }

                _streamEnds.Add(retry);
                await Task.Delay(retry ?? 1000, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        private void Dispatch(long id, string data, long last)
        {
            if (id != last + 1)
            {
                _errors.Add($"event {id} after {last}");
            }

            // "event N from process P"
            var pid = int.Parse(data[(data.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            lock (_ids)
            {
                _ids.Add(id);
                _pids.Add(pid);
            }
        }
    }
}
