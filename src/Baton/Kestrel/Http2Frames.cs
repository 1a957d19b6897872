using System.Buffers;
using System.Buffers.Binary;

namespace Baton.Kestrel;

/// <summary>
/// The few HTTP/2 frames (RFC 9113) a draining connection needs: the client preface that tells HTTP/2 from anything
/// else, the first GOAWAY with the largest stream id plus a PING, and the PING ACK that answers it.
/// </summary>
internal static class Http2Frames
{
    /// <summary>A frame header: 24-bit length, type, flags, reserved bit and 31-bit stream id.</summary>
    public const int HeaderLength = 9;

    /// <summary>A GOAWAY carrying no debug data, then a PING: two frames of 9 + 8 octets each.</summary>
    public const int GoAwayAndPingLength = 2 * (HeaderLength + 8);

    /// <summary>A PING frame (header and its 8 octets of opaque data).</summary>
    public const int PingLength = HeaderLength + 8;

    private const byte GoAwayType = 0x7;
    private const byte PingType = 0x6;
    private const byte AckFlag = 0x1;

    /// <summary>The largest stream id (2^31-1): "every stream you opened so far, and the ones on their way, is taken".</summary>
    public const int LastStreamIdAll = int.MaxValue;

    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>
    /// Writes GOAWAY(last-stream-id 2^31-1, NO_ERROR) and PING(<paramref name="opaque"/>): RFC 9113 section 6.8's
    /// first step. The client stops opening streams when it reads the GOAWAY and answers the PING after it, so its ACK
    /// proves that every stream it opened before seeing the GOAWAY has arrived.
    /// </summary>
    public static void WriteGoAwayAndPing(Span<byte> destination, ulong opaque)
    {
        WriteHeader(destination, length: 8, GoAwayType, flags: 0);
        BinaryPrimitives.WriteInt32BigEndian(destination[HeaderLength..], LastStreamIdAll);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(HeaderLength + 4)..], 0); // NO_ERROR
        WritePing(destination[(HeaderLength + 8)..], opaque, ack: false);
    }

    public static void WritePing(Span<byte> destination, ulong opaque, bool ack)
    {
        WriteHeader(destination, length: 8, PingType, ack ? AckFlag : (byte)0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[HeaderLength..], opaque);
    }

    /// <summary>Whether <paramref name="buffer"/> starts with the client preface: true, false, or null while too short to tell.</summary>
    public static bool? StartsWithPreface(in ReadOnlySequence<byte> buffer)
    {
        var preface = ClientPreface;
        Span<byte> start = stackalloc byte[24];
        var available = (int)Math.Min(buffer.Length, preface.Length);
        buffer.Slice(0, available).CopyTo(start);
        if (!start[..available].SequenceEqual(preface[..available]))
        {
            return false;
        }

        return available == preface.Length ? true : null;
    }

    /// <summary>
    /// Looks for the PING ACK frame whose bytes are <paramref name="ack"/> in <paramref name="carried"/> (the last
    /// octets before <paramref name="buffer"/>, so a frame cut between two reads is found) followed by
    /// <paramref name="buffer"/>. Returns the offset in <paramref name="buffer"/> just after the frame, or -1.
    /// </summary>
    /// <remarks>
    /// Matching the whole 17-octet frame, with 8 random octets the client cannot know before it reads our PING, is as
    /// good as parsing every frame, and costs nothing before a drain.
    /// </remarks>
    public static long IndexAfterPingAck(in ReadOnlySequence<byte> buffer, ReadOnlySpan<byte> carried, ReadOnlySpan<byte> ack)
    {
        if (!carried.IsEmpty)
        {
            // The frame may start in the carried octets and end in the buffer.
            Span<byte> seam = stackalloc byte[2 * PingLength];
            carried.CopyTo(seam);
            var head = (int)Math.Min(buffer.Length, PingLength - 1);
            buffer.Slice(0, head).CopyTo(seam[carried.Length..]);
            var joined = seam[..(carried.Length + head)];
            var at = joined.IndexOf(ack);
            if (at >= 0 && at + ack.Length > carried.Length)
            {
                return at + ack.Length - carried.Length;
            }
        }

        if (buffer.IsSingleSegment)
        {
            var found = buffer.FirstSpan.IndexOf(ack);
            return found < 0 ? -1 : found + ack.Length;
        }

        var reader = new SequenceReader<byte>(buffer);
        if (reader.TryAdvanceTo(ack[0], advancePastDelimiter: false))
        {
            do
            {
                if (reader.IsNext(ack, advancePast: false))
                {
                    return reader.Consumed + ack.Length;
                }

                reader.Advance(1);
            }
            while (reader.TryAdvanceTo(ack[0], advancePastDelimiter: false));
        }

        return -1;
    }

    private static void WriteHeader(Span<byte> destination, int length, byte type, byte flags)
    {
        destination[0] = (byte)(length >> 16);
        destination[1] = (byte)(length >> 8);
        destination[2] = (byte)length;
        destination[3] = type;
        destination[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(destination[5..], 0); // stream 0: the connection
    }
}
