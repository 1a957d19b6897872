using System.Runtime.InteropServices;

namespace Baton.Interop;

/// <summary>
/// What moving a connection to another process needs from the kernel: a descriptor sent with SCM_RIGHTS over the
/// handover channel (and received), a copy of a connection's descriptor, the stand-in that takes its number, and how
/// many bytes the application has read from a TCP connection so far.
/// </summary>
internal static unsafe class ConnectionPassing
{
    private const int ControlDataOffset = 16; // sizeof(struct cmsghdr) on 64-bit Linux
    private const int MaxDescriptorsPerRead = 4;

    // CMSG_SPACE(n * sizeof(int)): the header plus the data, rounded up to 8 bytes.
    private static int ControlSpace(int descriptors) => ControlDataOffset + ((descriptors * sizeof(int) + 7) & ~7);

    /// <summary>
    /// Sends <paramref name="message"/> on a Unix stream socket with <paramref name="fd"/> attached (SCM_RIGHTS). The
    /// descriptor travels with the first bytes, so the receiver has it once it has read the message's start. Never
    /// raises SIGPIPE; false when the peer is gone.
    /// </summary>
    public static bool SendWithDescriptor(int channel, ReadOnlySpan<byte> message, int fd)
    {
        if (message.IsEmpty)
        {
            throw new ArgumentException("A descriptor needs at least one byte to travel with.", nameof(message));
        }

        var controlLength = ControlSpace(1);
        var control = stackalloc byte[controlLength];
        new Span<byte>(control, controlLength).Clear();
        var header = (Libc.CMsgHdr*)control;
        header->Length = (nuint)(ControlDataOffset + sizeof(int));
        header->Level = Libc.SOL_SOCKET;
        header->Type = Libc.SCM_RIGHTS;
        *(int*)(control + ControlDataOffset) = fd;

        fixed (byte* start = message)
        {
            var offset = 0;
            var first = true;
            while (offset < message.Length)
            {
                var iov = new Libc.IoVec { Base = start + offset, Length = (nuint)(message.Length - offset) };
                var msg = new Libc.MsgHdr { Iov = &iov, IovLength = 1 };
                if (first)
                {
                    msg.Control = control;
                    msg.ControlLength = (nuint)controlLength;
                }

                var sent = Libc.SendMsg(channel, &msg, Libc.MSG_NOSIGNAL);
                if (sent == -1)
                {
                    if (Marshal.GetLastPInvokeError() == Libc.EINTR)
                    {
                        continue;
                    }

                    return false;
                }

                // Once any byte went, the descriptor went with it; the rest of the message follows without.
                first = false;
                offset += (int)sent;
            }
        }

        return true;
    }

    /// <summary>
    /// One recvmsg on a Unix stream socket: the bytes read (empty at end of file), with every descriptor that came with
    /// them appended to <paramref name="descriptors"/> (close-on-exec already). Linux never merges two sends' worth of
    /// descriptors into one read, so a few slots are plenty; were they truncated, the read fails loudly.
    /// </summary>
    public static byte[] Receive(int channel, List<int> descriptors)
    {
        var buffer = new byte[4096];
        var controlLength = ControlSpace(MaxDescriptorsPerRead);
        var control = stackalloc byte[controlLength];
        fixed (byte* start = buffer)
        {
            var iov = new Libc.IoVec { Base = start, Length = (nuint)buffer.Length };
            var msg = new Libc.MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)controlLength };
            nint count;
            do
            {
                msg.ControlLength = (nuint)controlLength;
                count = Libc.RecvMsg(channel, &msg, Libc.MSG_CMSG_CLOEXEC);
            }
            while (count == -1 && Marshal.GetLastPInvokeError() == Libc.EINTR);

            if (count == -1)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno == Libc.ECONNRESET ? [] : throw new PosixException($"recvmsg({channel})", errno);
            }

            // Only one control message is ever sent per send (SCM_RIGHTS); walk the buffer anyway, the kernel's way.
            var offset = 0;
            while (offset + ControlDataOffset <= (int)msg.ControlLength)
            {
                var header = (Libc.CMsgHdr*)(control + offset);
                var length = (int)header->Length;
                if (length < ControlDataOffset)
                {
                    break;
                }

                if (header->Level == Libc.SOL_SOCKET && header->Type == Libc.SCM_RIGHTS)
                {
                    var count2 = (length - ControlDataOffset) / sizeof(int);
                    for (var i = 0; i < count2; i++)
                    {
                        descriptors.Add(*(int*)(control + offset + ControlDataOffset + (i * sizeof(int))));
                    }
                }

                offset += (length + 7) & ~7;
            }

            if ((msg.Flags & Libc.MSG_CTRUNC) != 0)
            {
                throw new IOException($"recvmsg({channel}): more descriptors came than there was room for; they were closed");
            }

            return buffer.AsSpan(0, (int)count).ToArray();
        }
    }

    /// <summary>A second descriptor (close-on-exec) for what <paramref name="fd"/> refers to.</summary>
    public static int Duplicate(int fd)
    {
        var copy = Libc.Fcntl(fd, Libc.F_DUPFD_CLOEXEC, 3);
        return copy == -1 ? throw PosixException.FromLastError($"fcntl(F_DUPFD_CLOEXEC, {fd})") : copy;
    }

    /// <summary>
    /// Points the descriptor number of a connection that moved away at a stand-in: a Unix socket whose peer is closed.
    /// Whatever the runtime does with the number afterwards (shutdown, SO_LINGER, close) happens to the stand-in, and a
    /// read from it is an end of file - so a receive loop that reads again sees the connection end, and never reads a
    /// byte that belongs to the process the connection moved to.
    /// </summary>
    public static void DetachConnection(int fd)
    {
        var pair = stackalloc int[2];
        if (Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, pair) == -1)
        {
            throw PosixException.FromLastError("socketpair");
        }

        _ = Libc.Close(pair[1]);
        try
        {
            // Close-on-exec in the same call: from the moment the stand-in has the number, the transport may read its
            // end of file and close the number on another thread, so nothing may touch the number afterwards (a separate
            // F_SETFD once failed with EBADF here, and the move was given up with the client's request in the socket).
            if (Libc.Dup3(pair[0], fd, Libc.O_CLOEXEC) == -1)
            {
                throw PosixException.FromLastError($"dup3({pair[0]}, {fd})");
            }
        }
        finally
        {
            _ = Libc.Close(pair[0]);
        }
    }

    /// <summary>
    /// How many bytes have been read from a TCP connection since it was established, by anyone holding it: the bytes
    /// received in order (TCP_INFO's tcpi_bytes_received, Linux 4.1+) less what still waits in the receive queue
    /// (SIOCINQ). Null when <paramref name="fd"/> is not a TCP socket, or the kernel does not say.
    /// </summary>
    public static long? BytesRead(int fd) => Count(fd, BytesReceivedOffset, Libc.SIOCINQ, subtractQueue: true);

    /// <summary>
    /// How many bytes have been written to a TCP connection since it was established, by anyone holding it: the bytes
    /// the peer acknowledged (tcpi_bytes_acked) plus what waits in the send queue, sent or not (SIOCOUTQ). Null when
    /// <paramref name="fd"/> is not a TCP socket.
    /// </summary>
    public static long? BytesWritten(int fd) => Count(fd, BytesAckedOffset, Libc.SIOCOUTQ, subtractQueue: false);

    private const int BytesAckedOffset = 120; // offsetof(struct tcp_info, tcpi_bytes_acked)
    private const int BytesReceivedOffset = 128; // offsetof(struct tcp_info, tcpi_bytes_received)

    private static long? Count(int fd, int offset, int queueRequest, bool subtractQueue)
    {
        var info = stackalloc byte[256];
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var before = Counter(fd, info, offset);
            if (before is null)
            {
                return null;
            }

            int queued = 0;
            if (Libc.Ioctl(fd, (nuint)queueRequest, &queued) == -1)
            {
                return null;
            }

            // Stable across the queue length: nothing moved in between, so the two describe one moment.
            if (Counter(fd, info, offset) == before)
            {
                return subtractQueue ? before.Value - queued : before.Value + queued;
            }
        }

        return null;

        static long? Counter(int fd, byte* info, int offset)
        {
            uint length = 256;
            if (Libc.GetSockOpt(fd, Libc.IPPROTO_TCP, Libc.TCP_INFO, info, &length) == -1 || length < BytesReceivedOffset + sizeof(long))
            {
                return null;
            }

            return *(long*)(info + offset);
        }
    }
}
