using System.Runtime.InteropServices;
using System.Text;

namespace Baton.Interop;

/// <summary>Reads with a deadline (poll) and whole-line sends, for the handover channel and the standard-error relay.</summary>
internal static unsafe class DescriptorIo
{
    /// <summary>
    /// Sends the whole message on a socket. Never raises SIGPIPE (MSG_NOSIGNAL): a peer that died is a false return,
    /// not a signal. With <paramref name="dontWait"/>, a full socket buffer is a false return too instead of a wait.
    /// </summary>
    public static bool Send(int fd, string message, bool dontWait = false) =>
        WriteAll(fd, Encoding.UTF8.GetBytes(message), Libc.MSG_NOSIGNAL | (dontWait ? Libc.MSG_DONTWAIT : 0));

    /// <summary>Writes the whole buffer (to a pipe or file); false when the descriptor is gone or broken.</summary>
    public static bool Write(int fd, ReadOnlySpan<byte> bytes) => WriteAll(fd, bytes, sendFlags: null);

    /// <summary>write(), or send() with <paramref name="sendFlags"/>, until every byte is out.</summary>
    private static bool WriteAll(int fd, ReadOnlySpan<byte> bytes, int? sendFlags)
    {
        fixed (byte* start = bytes)
        {
            var offset = 0;
            while (offset < bytes.Length)
            {
                var count = (nuint)(bytes.Length - offset);
                var written = sendFlags is { } flags ? Libc.Send(fd, start + offset, count, flags) : Libc.Write(fd, start + offset, count);
                if (written == -1)
                {
                    if (Marshal.GetLastPInvokeError() == Libc.EINTR)
                    {
                        continue;
                    }

                    return false;
                }

                offset += (int)written;

                // Once part of the message went, the rest must follow: a line cut short would garble the channel (and,
                // with descriptors on it, pair the next one with the wrong line).
                if (sendFlags is { } sent && (sent & Libc.MSG_DONTWAIT) != 0)
                {
                    sendFlags = sent & ~Libc.MSG_DONTWAIT;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for data. Returns the bytes read, an empty array at end of file,
    /// or null when nothing came in time.
    /// </summary>
    public static byte[]? Read(int fd, TimeSpan timeout) => WaitReadable(fd, timeout) ? ReadNow(fd) : null;

    /// <summary>Waits up to <paramref name="timeout"/> until a read would not block (data, or end of file).</summary>
    public static bool WaitReadable(int fd, TimeSpan timeout)
    {
        var pollFd = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
        var milliseconds = (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue);
        var ready = Libc.Poll(&pollFd, 1, milliseconds);
        if (ready == -1)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == Libc.EINTR ? false : throw new PosixException($"poll({fd})", errno);
        }

        return ready > 0;
    }

    /// <summary>One read of what is there: the bytes, or an empty array at end of file.</summary>
    public static byte[] ReadNow(int fd)
    {
        var buffer = new byte[4096];
        fixed (byte* start = buffer)
        {
            nint count;
            do
            {
                count = Libc.Read(fd, start, (nuint)buffer.Length);
            }
            while (count == -1 && Marshal.GetLastPInvokeError() == Libc.EINTR);

            if (count == -1)
            {
                // A connection reset by a peer that died reads as its end.
                var errno = Marshal.GetLastPInvokeError();
                return errno == Libc.ECONNRESET ? [] : throw new PosixException($"read({fd})", errno);
            }

            return buffer.AsSpan(0, (int)count).ToArray();
        }
    }
}
