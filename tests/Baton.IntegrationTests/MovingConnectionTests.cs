using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>
/// Connections that move: a process that hands over passes its idle HTTP/1.1 connections to the new process, and the
/// client keeps its connection (same local port) across restarts.
/// </summary>
public sealed partial class MovingConnectionTests
{
    private const int Restarts = 4;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_idle_keep_alive_connection_opened_before_a_sighup_is_answered_after_the_old_process_exited(bool move)
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, Arguments(move));
        using var connection = await RawConnection.OpenAsync(server.BaseAddress);
        var old = server.RootPid;
        Assert.Equal(old, (await connection.GetAsync()).Pid);

        var next = await server.RestartAsync(old);
        await server.WaitForExitAsync(old, TimeSpan.FromSeconds(20));
        if (move)
        {
            var answer = await connection.GetAsync();
            Assert.Equal(next, answer.Pid);
            Assert.Contains($"Process {old} moved 1 idle connection(s) to process {next}", server.Log, StringComparison.Ordinal);
        }
        else
        {
            // Closed at DrainIdleTimeout by the old process: the request sent afterwards finds no server.
            await Assert.ThrowsAnyAsync<IOException>(connection.GetAsync);
        }
    }

    [Fact]
    public async Task Every_process_rehearses_moving_a_connection_to_itself_before_its_handover_moves_real_ones()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Logging:LogLevel:Baton=Debug"]);
        var first = server.RootPid;
        using var connection = await RawConnection.OpenAsync(server.BaseAddress);
        Assert.Equal(first, (await connection.GetAsync()).Pid);
        if (SampleApp.Hello.IsNative)
        {
            // Compiled at publish: nothing a rehearsal would compile ahead.
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.DoesNotContain("warm-up connection to itself", server.Log, StringComparison.Ordinal);
            return;
        }

        // The first generation had no warm-up: it rehearses while it serves, a while after it began.
        await server.WaitForLineAsync(l => l.Contains($"Process {first} moved a warm-up connection to itself and back into Kestrel", StringComparison.Ordinal), TimeSpan.FromSeconds(30));

        // A successor, in its warm-up: before it reports ready.
        var next = await server.RestartAsync(first);
        await server.WaitForLineAsync(l => l.Contains($"Process {next} moved a warm-up connection to itself and back into Kestrel", StringComparison.Ordinal));

        // The real move is told apart from the rehearsals: one connection moved, the client's, which goes on.
        await server.WaitForExitAsync(first, TimeSpan.FromSeconds(20));
        Assert.Equal(next, (await connection.GetAsync()).Pid);
        Assert.Contains($"Process {first} moved 1 idle connection(s) to process {next}", server.Log, StringComparison.Ordinal);
        var received = await server.WaitForLineAsync(l => l.Contains($"Process {next} received ", StringComparison.Ordinal) && l.Contains($"moved from process {first}", StringComparison.Ordinal));
        Assert.Contains("received 1 connection(s)", received, StringComparison.Ordinal);
        Assert.DoesNotContain("could not rehearse moving a connection", server.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_pipelining_client_that_never_retries_loses_nothing_across_four_sighups_and_keeps_its_connections(bool move)
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, Arguments(move));
        var clients = Enumerable.Range(0, 6).Select(_ => new PipeliningClient(server.BaseAddress)).ToList();
        using var stop = new CancellationTokenSource();
        var running = clients.Select(c => c.RunAsync(stop.Token)).ToList();
        var serving = server.RootPid;
        var generations = new List<int> { serving };
        for (var i = 0; i < Restarts; i++)
        {
            await WaitUntilServedByAsync(clients, serving);
            serving = await server.RestartAsync(serving);
            generations.Add(serving);
        }

        await WaitUntilServedByAsync(clients, serving);
        await stop.CancelAsync();
        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(40));
        }
        catch (Exception ex)
        {
            Assert.Fail($"{ex.GetType().Name}: {ex.Message}; {string.Join("; ", clients.Select(c => c.ToString()))}\n{BatonLines(server)}");
        }

        foreach (var old in generations.SkipLast(1))
        {
            await server.WaitForExitAsync(old, TimeSpan.FromSeconds(20));
        }

        var lost = clients.Sum(c => c.Lost);
        var summary = string.Join("; ", clients.Select(c => c.ToString())) + "\n" + BatonLines(server);
        if (move)
        {
            Assert.True(lost == 0, summary);

            // Not one connection was closed: every client kept the connection (the local port) it opened first, and was
            // answered on it by the first generation and the last (one it reached idle may have moved straight on).
            Assert.All(clients, c => Assert.Equal(0, c.Reconnects));
            Assert.All(clients, c => Assert.Contains(generations[0], c.PidsSeen));
            Assert.All(clients, c => Assert.Contains(serving, c.PidsSeen));
            Assert.Equal(generations.Order(), clients.SelectMany(c => c.PidsSeen).Distinct().Order());
            foreach (var (old, next) in generations.Zip(generations.Skip(1)))
            {
                Assert.True(server.Log.Contains($"Process {old} moved 6 idle connection(s) to process {next}", StringComparison.Ordinal), summary);
            }

            // A connection that moved with a request already on its way ends quietly in the old process (it once threw
            // in Kestrel's parser, logged as "Connection processing ended abnormally" for each such move).
            Assert.DoesNotContain("ended abnormally", server.Log, StringComparison.Ordinal);
        }
        else
        {
            // Today's drain: a response carrying Connection: close ends the connection, and the requests pipelined after
            // it are never answered.
            Assert.True(lost > 0, summary);
        }

        Assert.Equal([serving], server.AlivePids());
    }

    [Fact]
    public async Task An_http2_connection_never_moves_and_its_client_goes_on_with_the_new_process()
    {
        // Cleartext HTTP/2 with prior knowledge: its first bytes are the preface, and the connection stays in the old
        // process, which ends it (GOAWAY) as it always did. TLS is kept back the same way (first byte 0x16; see the
        // unit tests): its session lives in the process.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, [.. Arguments(move: true), "--Kestrel:EndpointDefaults:Protocols=Http2"]);
        using var client = new HttpClient
        {
            BaseAddress = server.BaseAddress,
            DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var old = server.RootPid;
        Assert.Contains($"\"pid\":{old}", await client.GetStringAsync("/"), StringComparison.Ordinal);

        var next = await server.RestartAsync(old);
        await server.WaitForExitAsync(old, TimeSpan.FromSeconds(20));
        Assert.Contains($"\"pid\":{next}", await client.GetStringAsync("/"), StringComparison.Ordinal);
        Assert.DoesNotContain("moved", BatonLines(server), StringComparison.Ordinal);
    }

    private static string BatonLines(ServerProcess server) =>
        string.Join('\n', server.Log.Split('\n').Where(l => l.Contains("Baton[", StringComparison.Ordinal)));

    private static string[] Arguments(bool move) => ["--Baton:MoveIdleConnections=" + (move ? "true" : "false"), "--Logging:LogLevel:Baton=Debug"];

    private static async Task WaitUntilServedByAsync(IReadOnlyList<PipeliningClient> clients, int pid)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!clients.Any(c => c.PidsSeen.Contains(pid)))
        {
            await Task.Delay(10, deadline.Token);
        }
    }

    [GeneratedRegex("\"pid\":(\\d+)")]
    private static partial Regex PidRegex();

    /// <summary>
    /// Writes four requests at once on one connection, reads the four answers, and again, until stopped. It never
    /// retries: a request whose answer does not come is lost. It opens a new connection only after the server closed
    /// one (cleanly, after a whole answer).
    /// </summary>
    private sealed class PipeliningClient(Uri server)
    {
        private const int Depth = 4;
        private readonly ConcurrentDictionary<int, byte> _pids = new();
        private int _lost;
        private int _answered;
        private int _reconnects;

        public int Lost => Volatile.Read(ref _lost);

        public int Reconnects => Volatile.Read(ref _reconnects);

        public IReadOnlyCollection<int> PidsSeen => _pids.Keys.ToList();

        public override string ToString() =>
            $"answered {_answered}, lost {_lost}, reconnects {_reconnects}, pids {string.Join(",", _pids.Keys.Order())}";

        public async Task RunAsync(CancellationToken stop)
        {
            var connection = await RawConnection.OpenAsync(server);
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await connection.SendAsync(Depth);
                    for (var i = 0; i < Depth; i++)
                    {
                        Answer answer;
                        try
                        {
                            answer = await connection.ReadAnswerAsync();
                        }
                        catch (IOException)
                        {
                            Interlocked.Add(ref _lost, Depth - i);
                            connection.Dispose();
                            connection = await RawConnection.OpenAsync(server);
                            Interlocked.Increment(ref _reconnects);
                            break;
                        }

                        Interlocked.Increment(ref _answered);
                        _pids.TryAdd(answer.Pid, 0);
                        if (answer.Close)
                        {
                            Interlocked.Add(ref _lost, Depth - i - 1);
                            connection.Dispose();
                            connection = await RawConnection.OpenAsync(server);
                            Interlocked.Increment(ref _reconnects);
                            break;
                        }
                    }
                }
            }
            finally
            {
                connection.Dispose();
            }
        }
    }

    private readonly record struct Answer(int Pid, bool Close);

    /// <summary>HTTP/1.1 over a bare socket: nothing reconnects or retries behind the test's back.</summary>
    private sealed class RawConnection : IDisposable
    {
        private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(30);
        private readonly Socket _socket;
        private readonly byte[] _request;
        private byte[] _buffer = new byte[16 * 1024];
        private int _start;
        private int _end;

        private RawConnection(Socket socket, Uri server)
        {
            _socket = socket;
            _request = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {server.Authority}\r\n\r\n");
        }

        public static async Task<RawConnection> OpenAsync(Uri server)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(server.Host, server.Port);
            return new RawConnection(socket, server);
        }

        public async Task<Answer> GetAsync()
        {
            await SendAsync(1);
            return await ReadAnswerAsync();
        }

        public async Task SendAsync(int requests)
        {
            var all = new byte[_request.Length * requests];
            for (var i = 0; i < requests; i++)
            {
                _request.CopyTo(all, i * _request.Length);
            }

            try
            {
                await _socket.SendAsync(all);
            }
            catch (SocketException ex)
            {
                throw new IOException("send failed", ex);
            }
        }

        /// <summary>One whole answer; an <see cref="IOException"/> when the connection ends before it is whole.</summary>
        public async Task<Answer> ReadAnswerAsync()
        {
            var status = await ReadLineAsync();
            if (!status.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("unexpected status line: " + status);
            }

            long? length = null;
            var chunked = false;
            var close = false;
            while (await ReadLineAsync() is { Length: > 0 } header)
            {
                var colon = header.IndexOf(':', StringComparison.Ordinal);
                var name = header[..colon].Trim();
                var value = header[(colon + 1)..].Trim();
                if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    length = long.Parse(value, CultureInfo.InvariantCulture);
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

            var body = new StringBuilder();
            if (chunked)
            {
                while (true)
                {
                    var size = int.Parse(await ReadLineAsync(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    body.Append(await ReadExactAsync(size));
                    await ReadLineAsync();
                    if (size == 0)
                    {
                        break;
                    }
                }
            }
            else
            {
                body.Append(await ReadExactAsync((int)(length ?? 0)));
            }

            return new Answer(int.Parse(PidRegex().Match(body.ToString()).Groups[1].Value, CultureInfo.InvariantCulture), close);
        }

        public void Dispose() => _socket.Dispose();

        private async Task<string> ReadLineAsync()
        {
            while (true)
            {
                var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (newline >= 0)
                {
                    var line = Encoding.ASCII.GetString(_buffer, _start, newline - _start).TrimEnd('\r');
                    _start = newline + 1;
                    return line;
                }

                await FillAsync();
            }
        }

        private async Task<string> ReadExactAsync(int count)
        {
            while (_end - _start < count)
            {
                await FillAsync();
            }

            var text = Encoding.ASCII.GetString(_buffer, _start, count);
            _start += count;
            return text;
        }

        private async Task FillAsync()
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

            int read;
            try
            {
                using var timeout = new CancellationTokenSource(ReadTimeout);
                read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), timeout.Token);
            }
            catch (SocketException ex)
            {
                throw new IOException("receive failed", ex);
            }

            if (read == 0)
            {
                throw new IOException("the server closed the connection");
            }

            _end += read;
        }
    }
}
