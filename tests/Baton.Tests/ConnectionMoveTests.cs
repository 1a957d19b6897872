using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Baton.Handover;
using Baton.Interop;
using Baton.Kestrel;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;

namespace Baton.Tests;

public sealed class MovedMessageTests
{
    [Fact]
    public void A_moved_connection_round_trips_with_its_unread_bytes_and_its_listener()
    {
        var unread = Encoding.ASCII.GetBytes("GET /next HTTP/1.1\r\nHo");
        var line = HandshakeMessage.Moved("127.0.0.1:8080", unread);
        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        var moved = Assert.IsType<MovedMessage>(HandshakeMessage.Parse(line.TrimEnd('\n')));
        Assert.Equal("127.0.0.1:8080", moved.Listener);
        Assert.Equal(unread, moved.Unread);
    }

    [Fact]
    public void Nothing_unread_and_a_unix_path_with_spaces_round_trip()
    {
        var moved = Assert.IsType<MovedMessage>(HandshakeMessage.Parse(HandshakeMessage.Moved("/run/my app/s.sock", []).TrimEnd('\n')));
        Assert.Equal("/run/my app/s.sock", moved.Listener);
        Assert.Empty(moved.Unread);
    }

    [Fact]
    public void Bytes_that_are_not_base64_are_a_failure()
    {
        Assert.IsType<FailedMessage>(HandshakeMessage.Parse("moved %%% 127.0.0.1:1"));
    }

    [Fact]
    public async Task The_drain_waits_for_a_connection_still_on_its_way_to_the_new_process()
    {
        // Kestrel counts a moving connection closed once its descriptor is detached; the drain's report ("moved N idle
        // connection(s)") and the exit wait until it has been passed on (once the report said 2 of 6).
        using var mover = new ConnectionMover(Options.Create(new BatonOptions()), NullLoggerFactory.Instance);
        mover.Moving();
        var waiting = mover.WaitForMovesAsync(TimeSpan.FromSeconds(10));
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(0, mover.MovedCount);

        mover.Moved(succeeded: true, "c1", failure: null);
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, mover.MovedCount);
    }

    [Fact]
    public void A_descriptor_sent_with_a_line_arrives_with_it_and_refers_to_the_same_file()
    {
        var (channel, peer) = Descriptors.CreateSocketPair();
        var (readEnd, writeEnd) = Descriptors.CreatePipe();
        try
        {
            // Two lines, two descriptors: each is taken in the order the lines came.
            Assert.True(ConnectionPassing.SendWithDescriptor(channel, Encoding.ASCII.GetBytes(HandshakeMessage.Moved("a", [1, 2, 3])), writeEnd));
            Assert.True(ConnectionPassing.SendWithDescriptor(channel, Encoding.ASCII.GetBytes(HandshakeMessage.Moved("b", [])), readEnd));
            var reader = new LineReader(peer, receivesDescriptors: true);
            var first = Assert.IsType<MovedMessage>(HandshakeMessage.Parse(reader.Read(TimeSpan.FromSeconds(5)).Line!));
            var firstFd = reader.TakeDescriptor();
            var second = Assert.IsType<MovedMessage>(HandshakeMessage.Parse(ReadLine(reader)));
            var secondFd = reader.TakeDescriptor();
            Assert.Equal(("a", "b"), (first.Listener, second.Listener));
            Assert.Equal(-1, reader.TakeDescriptor());
            Assert.True(Descriptors.IsCloseOnExec(firstFd));

            // The received write end writes into the pipe whose read end came second.
            Assert.True(DescriptorIo.Write(firstFd, "moved"u8));
            Assert.Equal("moved", Encoding.ASCII.GetString(DescriptorIo.Read(secondFd, TimeSpan.FromSeconds(5))!));
            Descriptors.Close(firstFd);
            Descriptors.Close(secondFd);
        }
        finally
        {
            foreach (var fd in new[] { channel, peer, readEnd, writeEnd })
            {
                Descriptors.Close(fd);
            }
        }
    }

    private static string ReadLine(LineReader reader)
    {
        while (true)
        {
            if (reader.Read(TimeSpan.FromSeconds(5)).Line is { } line)
            {
                return line;
            }
        }
    }
}

/// <summary>
/// <see cref="MovableConnection"/> between a real TCP connection and a stand-in for Kestrel: a test transport copies the
/// socket into a pipe the way Kestrel's does, and the test reads and advances the way Kestrel's HTTP/1.1 parser does.
/// </summary>
public sealed class MovableConnectionTests : IAsyncLifetime
{
    private const string Request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Pipe _transport = new();
    private readonly FakeSuccessor _successor = new(4242);
    private Socket _client = null!;
    private Socket _server = null!;
    private Task _receiving = Task.CompletedTask;
    private ConnectionMover _mover = null!;
    private MovableConnection _input = null!;

    public async Task InitializeAsync()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen();
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await _client.ConnectAsync(_listener.LocalEndPoint!);
        _server = await _listener.AcceptAsync();
        _mover = new ConnectionMover(Options.Create(new BatonOptions()), NullLoggerFactory.Instance);
        _input = new MovableConnection(_transport.Reader, _mover, _server, "127.0.0.1:1", "c1");
        _receiving = ReceiveLoopAsync();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _listener.Dispose();

        // A moved connection's number is a stand-in by now: disposing touches nothing the successor has.
        _server.Dispose();
        await _receiving.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var moved in _successor.Moved)
        {
            Descriptors.Close(moved.Fd);
        }

        _mover.Dispose();
    }

    [Fact]
    public async Task An_idle_connection_moves_at_once_with_nothing_unread_and_its_next_request_reaches_the_successor()
    {
        await SendAsync(Request);
        await ServeOneAsync();

        var waiting = _input.ReadAsync().AsTask();
        Assert.False(waiting.IsCompleted);
        _mover.MoveTo(_successor, []);
        _input.Nudge();
        var end = await waiting.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(end.IsCompleted);
        Assert.True(end.Buffer.IsEmpty);
        AcknowledgeEnd(end);
        var moved = Assert.Single(_successor.Moved);
        Assert.Equal("127.0.0.1:1", moved.Listener);
        Assert.Empty(moved.Unread);
        await AssertNextRequestReachesAsync(moved.Fd);
    }

    [Fact]
    public async Task Pipelined_requests_already_seen_are_served_here_and_what_came_after_travels_with_the_connection()
    {
        // Two requests arrive together; the first is answered, then the handover starts.
        await SendAsync(Request + Request);
        var both = await ReadAtLeastAsync(Request.Length * 2);
        var firstEnd = both.Buffer.GetPosition(Request.Length);
        _input.AdvanceTo(firstEnd);
        Serve();
        _mover.MoveTo(_successor, []);

        // The second was already given to "Kestrel": it is served here, not moved.
        var second = await _input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(second.IsCompleted);
        Assert.Equal(Request, Encoding.ASCII.GetString(second.Buffer.ToArray()));

        // Half a third request comes while the second runs: it was never given to Kestrel, and moves with the connection.
        await SendAsync("GET /third HT");
        await WaitUntilReadFromSocketAsync(Request.Length * 2 + "GET /third HT".Length);
        _input.AdvanceTo(second.Buffer.End);
        Serve();
        var end = await _input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(end.IsCompleted);
        AcknowledgeEnd(end);
        var moved = Assert.Single(_successor.Moved);
        Assert.Equal("GET /third HT", Encoding.ASCII.GetString(moved.Unread));
        await AssertNextRequestReachesAsync(moved.Fd, "TP/1.1\r\n\r\n");
    }

    /// <summary>
    /// What Kestrel's HTTP/1.1 parser does with every read, the end of input after a move included: advance, then see
    /// that the input completed and let the connection go. It must not throw (Kestrel would log the connection as ended
    /// abnormally), and the reader is completed as Kestrel completes it.
    /// </summary>
    private void AcknowledgeEnd(ReadResult end)
    {
        _input.AdvanceTo(end.Buffer.Start, end.Buffer.End);
        _input.Complete();
    }

    [Fact]
    public async Task A_partly_consumed_request_or_one_running_keeps_the_connection_here()
    {
        await SendAsync("GET / HTTP/1.1\r\nHo");
        var partial = await _input.ReadAsync();
        _input.AdvanceTo(partial.Buffer.Start, partial.Buffer.End);
        _mover.MoveTo(_successor, []);

        // Kestrel waits for the rest of the headers: nothing moves.
        var rest = _input.ReadAsync().AsTask();
        _input.Nudge();
        await SendAsync("st: x\r\n\r\n");
        var whole = await rest.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(whole.IsCompleted);
        Assert.Equal("GET / HTTP/1.1\r\nHost: x\r\n\r\n", Encoding.ASCII.GetString(whole.Buffer.ToArray()));
        Assert.Empty(_successor.Moved);

        // A request with a body leaves no clean boundary: still nothing moves while Kestrel would read on.
        _input.AdvanceTo(whole.Buffer.End);
        _input.RequestStarted(plainHttp11: true, leavesCleanBoundary: false);
        _input.RequestEnded();
        var after = _input.ReadAsync().AsTask();
        _input.Nudge();
        await SendAsync(Request);
        Assert.False((await after.WaitAsync(TimeSpan.FromSeconds(10))).IsCompleted);
        Assert.Empty(_successor.Moved);
    }

    [Fact]
    public async Task A_tls_connection_never_moves()
    {
        await SendAsync("\x16\x03\x01\x00\x05hello");
        var hello = await _input.ReadAsync();
        _input.AdvanceTo(hello.Buffer.End);
        _mover.MoveTo(_successor, []);
        var waiting = _input.ReadAsync().AsTask();
        _input.Nudge();
        await SendAsync("more");
        Assert.False((await waiting.WaitAsync(TimeSpan.FromSeconds(10))).IsCompleted);
        Assert.Empty(_successor.Moved);
    }

    [Fact]
    public void The_kernel_counts_what_the_application_read_from_a_tcp_connection()
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(_listener.LocalEndPoint!);
        using var server = _listener.Accept();
        client.Send(new byte[10]);
        var buffer = new byte[4];
        Assert.Equal(4, server.Receive(buffer));
        Assert.Equal(4, ConnectionPassing.BytesRead((int)server.Handle));
        Assert.Null(ConnectionPassing.BytesRead(-1));
    }

    private async Task ServeOneAsync()
    {
        var read = await _input.ReadAsync();
        Assert.Equal(Request, Encoding.ASCII.GetString(read.Buffer.ToArray()));
        _input.AdvanceTo(read.Buffer.End);
        Serve();
    }

    private void Serve()
    {
        _input.RequestStarted(plainHttp11: true, leavesCleanBoundary: true);
        _input.RequestEnded();
    }

    private async Task SendAsync(string text) => await _client.SendAsync(Encoding.Latin1.GetBytes(text));

    private async Task WaitUntilReadFromSocketAsync(long bytes)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (ConnectionPassing.BytesRead((int)_server.Handle) < bytes)
        {
            await Task.Delay(5, deadline.Token);
        }
    }

    // As Kestrel does with a request cut in two: examine all, consume nothing, read again.
    private async Task<ReadResult> ReadAtLeastAsync(int length)
    {
        while (true)
        {
            var read = await _input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            if (read.Buffer.Length >= length)
            {
                return read;
            }

            _input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private async Task AssertNextRequestReachesAsync(int fd, string text = Request)
    {
        using var moved = new Socket(new SafeSocketHandle(fd, ownsHandle: false));
        await SendAsync(text);
        var buffer = new byte[256];
        var count = await moved.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(text, Encoding.ASCII.GetString(buffer, 0, count));
    }

    // What Kestrel's socket transport does: read the socket into the pipe until end of file.
    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                var memory = _transport.Writer.GetMemory(4096);
                var count = await _server.ReceiveAsync(memory);
                if (count == 0)
                {
                    break;
                }

                _transport.Writer.Advance(count);
                if ((await _transport.Writer.FlushAsync()).IsCompleted)
                {
                    break;
                }
            }
        }
        finally
        {
            await _transport.Writer.CompleteAsync();
        }
    }
}
