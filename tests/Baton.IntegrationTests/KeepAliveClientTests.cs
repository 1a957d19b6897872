using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>
/// Keep-alive clients that never retry, against samples/Hello across twenty restarts: not one failed request, not one
/// non-2xx. The old process answers each kept-alive connection's next request with <c>Connection: close</c>, so the
/// client moves on an answer it gets anyway.
/// </summary>
public sealed partial class KeepAliveClientTests
{
    private const int Restarts = 20;

    [Fact]
    public async Task A_raw_keep_alive_client_fails_no_request_across_twenty_restarts()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var load = new LoadGenerator(new Uri(server.BaseAddress, "/"), ConnectionMode.KeepAlive, workers: 16);
        load.Start();
        var generations = await RestartTwentyTimesAsync(server, pid => load.WaitForServedByAsync(pid, 100));
        var result = await load.StopAsync();

        Assert.True(result.Failed == 0, result.ToString());
        Assert.Equal(result.Succeeded, result.RequestsByPid.Values.Sum());
        Assert.Equal(generations.Order(), result.RequestsByPid.Keys.Order());
    }

    /// <summary>
    /// HttpClient retries on its own a request sent on a reused connection that the server closed before any byte of the
    /// answer (a GET included): the application never sees that failure. Every byte it writes is counted here, so a
    /// retry shows as more requests on the wire than the application sent.
    /// </summary>
    [Fact]
    public async Task HttpClient_keep_alive_fails_no_request_and_retries_none_across_twenty_restarts()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var wire = new RequestCounter();
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 16,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectCallback = wire.ConnectAsync,
        };
        using var http = new HttpClient(handler) { BaseAddress = server.BaseAddress };
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var byPid = new ConcurrentDictionary<int, int>();
        var failures = new ConcurrentQueue<string>();
        var sent = 0;
        var workers = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && Interlocked.Increment(ref sent) <= 2_000_000)
            {
                try
                {
                    using var response = await http.GetAsync("/", CancellationToken.None);
                    var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Enqueue($"HTTP {(int)response.StatusCode}");
                        continue;
                    }

                    var pid = int.Parse(PidRegex().Match(body).Groups[1].Value, CultureInfo.InvariantCulture);
                    byPid.AddOrUpdate(pid, 1, (_, n) => n + 1);
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue($"{ex.GetType().Name}: {ex.Message} {ex.InnerException?.Message}");
                }
            }
        })).ToArray();

        var generations = await RestartTwentyTimesAsync(server, async pid =>
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            var target = byPid.GetValueOrDefault(pid) + 100;
            while (byPid.GetValueOrDefault(pid) < target && failures.IsEmpty)
            {
                Assert.True(DateTime.UtcNow < deadline, $"process {pid} served {byPid.GetValueOrDefault(pid)} requests");
                await Task.Delay(10);
            }
        });
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(20)));
        var answered = byPid.Values.Sum();
        Assert.Equal(answered, wire.Requests);
        Assert.Equal(generations.Order(), byPid.Keys.Order());
    }

    private static async Task<List<int>> RestartTwentyTimesAsync(ServerProcess server, Func<int, Task> servedBy)
    {
        var serving = server.RootPid;
        var generations = new List<int> { serving };
        for (var i = 0; i < Restarts; i++)
        {
            await servedBy(serving);
            var old = serving;
            serving = await server.RestartAsync(old);
            generations.Add(serving);

            // Keep-alive clients move on their next answer; the next SIGHUP would be deferred while this one drains.
            await server.WaitForExitAsync(old, TimeSpan.FromSeconds(20));
        }

        await servedBy(serving);
        Assert.Equal(Restarts, await server.WaitUntilSettledAsync());
        return generations;
    }

    [GeneratedRegex("\"pid\":(\\d+)")]
    private static partial Regex PidRegex();

    /// <summary>Opens HttpClient's connections and counts the request lines written on all of them.</summary>
    private sealed class RequestCounter
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancel)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, cancel);
                return new CountingStream(new NetworkStream(socket, ownsSocket: true), this);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        private sealed class CountingStream(Stream inner, RequestCounter counter) : Stream
        {
            private static readonly byte[] RequestLine = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n");

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => true;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override void Flush() => inner.Flush();

            public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

            public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

            public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                inner.ReadAsync(buffer, offset, count, cancellationToken);

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count)
            {
                Count(buffer.AsSpan(offset, count));
                inner.Write(buffer, offset, count);
            }

            public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
            {
                Count(buffer.Span);
                return inner.WriteAsync(buffer, cancellationToken);
            }

            public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    inner.Dispose();
                }

                base.Dispose(disposing);
            }

            // HttpClient writes a request's head in one buffer, so a request line is never split across writes.
            private void Count(ReadOnlySpan<byte> written)
            {
                while (written.IndexOf(RequestLine) is var at and >= 0)
                {
                    Interlocked.Increment(ref counter._requests);
                    written = written[(at + RequestLine.Length)..];
                }
            }
        }
    }
}
