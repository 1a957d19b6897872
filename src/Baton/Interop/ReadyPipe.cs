using System.Text;

namespace Baton.Interop;

/// <summary>Blocking reads and writes on the handshake pipe, with poll for the deadline.</summary>
internal static unsafe class ReadyPipe
{
    /// <summary>Writes the whole message; a pipe write this small is atomic.</summary>
    public static void Write(int fd, string message)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        fixed (byte* start = bytes)
        {
            var offset = 0;
            while (offset < bytes.Length)
            {
                var written = Libc.Write(fd, start + offset, (nuint)(bytes.Length - offset));
                if (written == -1)
                {
                    var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                    if (errno == Libc.EINTR)
                    {
                        continue;
                    }

                    throw new PosixException($"write(ready pipe {fd})", errno);
                }

                offset += (int)written;
            }
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for data. Returns the bytes read, an empty array at end of file,
    /// or null when nothing came in time.
    /// </summary>
    public static byte[]? Read(int fd, TimeSpan timeout)
    {
        var pollFd = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
        var milliseconds = (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue);
        var ready = Libc.Poll(&pollFd, 1, milliseconds);
        if (ready == -1)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            return errno == Libc.EINTR ? null : throw new PosixException("poll(ready pipe)", errno);
        }

        if (ready == 0)
        {
            return null;
        }

        var buffer = new byte[4096];
        fixed (byte* start = buffer)
        {
            nint count;
            do
            {
                count = Libc.Read(fd, start, (nuint)buffer.Length);
            }
            while (count == -1 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Libc.EINTR);

            if (count == -1)
            {
                throw PosixException.FromLastError("read(ready pipe)");
            }

            return buffer.AsSpan(0, (int)count).ToArray();
        }
    }
}
