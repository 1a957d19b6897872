using System.Buffers.Binary;

namespace Baton.IntegrationTests.Infrastructure;

/// <summary>HTTP/2 frames as bytes on the wire (RFC 9113 section 4.1), for the tests' own clients and servers.</summary>
internal static class Http2FrameBytes
{
    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), streamId);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    /// <summary>GOAWAY with NO_ERROR.</summary>
    public static byte[] GoAway(int lastStreamId)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(payload, lastStreamId);
        return Frame(0x7, 0, 0, payload);
    }
}
