using System.Buffers;
using System.IO.Pipelines;
using Baton.Kestrel;
using Xunit;

namespace Baton.Tests;

public sealed class Http2FramesTests
{
    [Fact]
    public void Goaway_with_the_largest_stream_id_then_a_ping_are_written_as_rfc_9113_frames()
    {
        var bytes = new byte[Http2Frames.GoAwayAndPingLength];
        Http2Frames.WriteGoAwayAndPing(bytes, 0x0102030405060708);
        byte[] expected =
        [
            0, 0, 8, 0x7, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, // GOAWAY(2^31-1, NO_ERROR) on stream 0
            0, 0, 8, 0x6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, // PING, not ACK
        ];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void The_client_preface_tells_http2_from_http1_and_waits_when_too_short()
    {
        Assert.True(Http2Frames.StartsWithPreface(new ReadOnlySequence<byte>("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0"u8.ToArray())));
        Assert.Null(Http2Frames.StartsWithPreface(new ReadOnlySequence<byte>("PRI * HT"u8.ToArray())));
        Assert.False(Http2Frames.StartsWithPreface(new ReadOnlySequence<byte>("GET / HTTP/1.1\r\n"u8.ToArray())));
        Assert.False(Http2Frames.StartsWithPreface(new ReadOnlySequence<byte>([0x16, 0x03, 0x01])));
    }

    [Fact]
    public void The_ping_ack_is_found_in_one_segment_across_segments_and_across_reads()
    {
        var ack = new byte[Http2Frames.PingLength];
        Http2Frames.WritePing(ack, 42, ack: true);
        byte[] stream = [.. new byte[30], .. ack, 1, 2, 3];

        Assert.Equal(30 + ack.Length, Http2Frames.IndexAfterPingAck(new ReadOnlySequence<byte>(stream), [], ack));
        Assert.Equal(-1, Http2Frames.IndexAfterPingAck(new ReadOnlySequence<byte>(stream.AsMemory(0, 40)), [], ack));

        // Cut inside the frame between two segments of one read.
        Assert.Equal(30 + ack.Length, Http2Frames.IndexAfterPingAck(Segments(stream, 35), [], ack));

        // Cut between two reads: the first 5 octets were consumed with the earlier read and carried.
        var carried = stream.AsSpan(21, 14);
        Assert.Equal(ack.Length - 5, Http2Frames.IndexAfterPingAck(new ReadOnlySequence<byte>(stream.AsMemory(35)), carried, ack));

        // Another PING's ACK is not ours.
        var other = new byte[Http2Frames.PingLength];
        Http2Frames.WritePing(other, 43, ack: true);
        Assert.Equal(-1, Http2Frames.IndexAfterPingAck(new ReadOnlySequence<byte>([.. other, .. other]), [], ack));
    }

    internal static ReadOnlySequence<byte> Segments(byte[] bytes, int cut)
    {
        var first = new Segment(bytes.AsMemory(0, cut), 0);
        var second = first.Append(bytes.AsMemory(cut));
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long index)
        {
            Memory = memory;
            RunningIndex = index;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

public sealed class Http2DrainTransportTests
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
    private static readonly byte[] Settings = [0, 0, 0, 0x4, 0, 0, 0, 0, 0];

    [Fact]
    public async Task An_http1_connection_is_passed_through_and_never_sent_a_goaway()
    {
        var (transport, wire, closes, _) = Create();
        await wire.FromClient.WriteAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());
        var read = await transport.Input.ReadAsync();
        transport.Input.AdvanceTo(read.Buffer.End);
        Assert.False(transport.IsHttp2);

        transport.SendAway();
        await transport.Output.WriteAsync("HTTP/1.1 200 OK\r\n\r\n"u8.ToArray());
        Assert.Equal("HTTP/1.1 200 OK\r\n\r\n"u8.ToArray(), await ReadAllAsync(wire.ToClient));
        Assert.Empty(closes);
    }

    [Fact]
    public async Task An_idle_http2_connection_gets_goaway_and_ping_at_once_and_closes_after_kestrel_consumed_the_ack()
    {
        var (transport, wire, closes, _) = Create();
        await StartHttp2Async(transport, wire);

        transport.SendAway();
        var sent = await ReadAllAsync(wire.ToClient);
        Assert.Equal(Http2Frames.GoAwayAndPingLength, sent.Length);
        var ack = AckFor(sent);

        // The ACK arrives behind a HEADERS frame; Kestrel first consumes only up to the ACK's middle.
        byte[] headers = [0, 0, 1, 0x1, 0x5, 0, 0, 0, 1, 0x82];
        await wire.FromClient.WriteAsync((byte[])[.. headers, .. ack]);
        var read = await transport.Input.ReadAsync();
        transport.Input.AdvanceTo(read.Buffer.GetPosition(headers.Length + 8));
        Assert.Empty(closes);

        read = await transport.Input.ReadAsync();
        Assert.Equal(ack.Length - 8, read.Buffer.Length);
        transport.Input.AdvanceTo(read.Buffer.End);
        Assert.Equal([true], closes);
    }

    [Fact]
    public async Task A_goaway_asked_for_inside_a_frame_kestrel_is_writing_goes_out_right_after_its_flush()
    {
        var (transport, wire, closes, _) = Create();
        await StartHttp2Async(transport, wire);

        // Kestrel is half-way through a frame when the drain starts.
        byte[] data = [0, 0, 4, 0x0, 0x1, 0, 0, 0, 1, 1, 2, 3, 4];
        data.AsSpan(0, 6).CopyTo(transport.Output.GetSpan(6));
        transport.Output.Advance(6);
        transport.SendAway();
        Assert.False(wire.ToClient.TryRead(out _));

        data.AsSpan(6).CopyTo(transport.Output.GetSpan(data.Length - 6));
        transport.Output.Advance(data.Length - 6);
        await transport.Output.FlushAsync();

        var sent = await ReadAllAsync(wire.ToClient);
        Assert.Equal(data, sent[..data.Length]);
        Assert.Equal(Http2Frames.GoAwayAndPingLength, sent.Length - data.Length);
        Assert.Equal(0x7, sent[data.Length + 3]);
        Assert.Empty(closes);
    }

    [Fact]
    public async Task Kestrels_settings_go_first_on_a_connection_sent_away_before_it_answered_the_preface()
    {
        var (transport, wire, _, _) = Create();
        transport.SendAway();
        await wire.FromClient.WriteAsync(Preface);
        var read = await transport.Input.ReadAsync();
        transport.Input.AdvanceTo(read.Buffer.End);
        Assert.True(transport.IsHttp2);
        Assert.False(wire.ToClient.TryRead(out _));

        await transport.Output.WriteAsync(Settings);
        var sent = await ReadAllAsync(wire.ToClient);
        Assert.Equal(Settings, sent[..Settings.Length]);
        Assert.Equal(0x7, sent[Settings.Length + 3]);
    }

    [Fact]
    public async Task A_client_that_never_answers_the_ping_is_closed_at_the_timeout()
    {
        var (transport, wire, closes, timers) = Create();
        await StartHttp2Async(transport, wire);
        transport.SendAway();
        await ReadAllAsync(wire.ToClient);
        Assert.Empty(closes);

        timers.Fire();
        Assert.Equal([false], closes);
        Assert.True(transport.CloseRequested);
    }

    private static (Http2DrainTransport Transport, Wire Wire, List<bool> Closes, ManualTimers Timers) Create()
    {
        var fromClient = new Pipe();
        var toClient = new Pipe();
        var closes = new List<bool>();
        var timers = new ManualTimers();
        var transport = new Http2DrainTransport(
            new DuplexPipe(fromClient.Reader, toClient.Writer), timers, TimeSpan.FromSeconds(2), isHttp2: _ => { }, requestClose: closes.Add);
        return (transport, new Wire(fromClient.Writer, toClient.Reader), closes, timers);
    }

    private static async Task StartHttp2Async(Http2DrainTransport transport, Wire wire)
    {
        await wire.FromClient.WriteAsync(Preface);
        var read = await transport.Input.ReadAsync();
        transport.Input.AdvanceTo(read.Buffer.End);
        Assert.True(transport.IsHttp2);
        await transport.Output.WriteAsync(Settings);
        Assert.Equal(Settings, await ReadAllAsync(wire.ToClient));
    }

    private static byte[] AckFor(byte[] goAwayAndPing)
    {
        var ack = goAwayAndPing[(Http2Frames.GoAwayAndPingLength - Http2Frames.PingLength)..];
        ack[4] = 0x1;
        return ack;
    }

    private static async Task<byte[]> ReadAllAsync(PipeReader reader)
    {
        var read = await reader.ReadAsync();
        var bytes = read.Buffer.ToArray();
        reader.AdvanceTo(read.Buffer.End);
        return bytes;
    }

    private sealed record Wire(PipeWriter FromClient, PipeReader ToClient);

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }

    /// <summary>Timers that fire when the test says so.</summary>
    private sealed class ManualTimers : TimeProvider
    {
        private readonly List<(TimerCallback Callback, object? State)> _timers = [];

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            _timers.Add((callback, state));
            return new NoTimer();
        }

        public void Fire()
        {
            foreach (var (callback, state) in _timers.ToList())
            {
                callback(state);
            }
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
