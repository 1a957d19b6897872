using System.Net;
using System.Net.Sockets;

namespace Baton.Interop;

/// <summary>What a descriptor turned out to be when it was checked.</summary>
internal enum DescriptorKind
{
    NotOpen,
    NotASocket,
    NotListening,
    ListeningStreamSocket,
    OtherSocket,
}

/// <summary>File-descriptor bookkeeping: close-on-exec, checks, and the safe detach of a shared listener.</summary>
internal static unsafe class Descriptors
{
    public static bool IsOpen(int fd) => Libc.Fcntl(fd, Libc.F_GETFD, 0) != -1;

    public static bool IsWriteOnly(int fd)
    {
        var flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
        return flags != -1 && (flags & Libc.O_ACCMODE) == Libc.O_WRONLY;
    }

    public static void SetCloseOnExec(int fd, bool closeOnExec)
    {
        var flags = Libc.Fcntl(fd, Libc.F_GETFD, 0);
        if (flags == -1)
        {
            throw PosixException.FromLastError($"fcntl(F_GETFD, {fd})");
        }

        var wanted = closeOnExec ? flags | Libc.FD_CLOEXEC : flags & ~Libc.FD_CLOEXEC;
        if (wanted != flags && Libc.Fcntl(fd, Libc.F_SETFD, wanted) == -1)
        {
            throw PosixException.FromLastError($"fcntl(F_SETFD, {fd})");
        }
    }

    public static bool IsCloseOnExec(int fd)
    {
        var flags = Libc.Fcntl(fd, Libc.F_GETFD, 0);
        return flags != -1 && (flags & Libc.FD_CLOEXEC) != 0;
    }

    public static DescriptorKind Classify(int fd)
    {
        if (!IsOpen(fd))
        {
            return DescriptorKind.NotOpen;
        }

        int type = 0;
        uint length = sizeof(int);
        if (Libc.GetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_TYPE, &type, &length) == -1)
        {
            return DescriptorKind.NotASocket;
        }

        if (type != Libc.SOCK_STREAM)
        {
            return DescriptorKind.OtherSocket;
        }

        int accepting = 0;
        length = sizeof(int);
        if (Libc.GetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_ACCEPTCONN, &accepting, &length) == -1 || accepting == 0)
        {
            return DescriptorKind.NotListening;
        }

        return DescriptorKind.ListeningStreamSocket;
    }

    /// <summary>
    /// Turns lingering off on a socket. A listener's SO_LINGER is copied to every connection accepted from it, and a
    /// predecessor's runtime may set {on, 0} on the shared listener as it closes; left alone, that would turn every
    /// close of ours into a reset.
    /// </summary>
    public static void ClearLinger(int fd)
    {
        var linger = new Libc.Linger { OnOff = 0, Seconds = 0 };
        _ = Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_LINGER, &linger, (uint)sizeof(Libc.Linger));
    }

    public static (bool On, int Seconds) GetLinger(int fd)
    {
        var linger = default(Libc.Linger);
        uint length = (uint)sizeof(Libc.Linger);
        if (Libc.GetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_LINGER, &linger, &length) == -1)
        {
            throw PosixException.FromLastError($"getsockopt(SO_LINGER, {fd})");
        }

        return (linger.OnOff != 0, linger.Seconds);
    }

    /// <summary>
    /// Drops this process's reference to a listening socket that a successor shares, without letting the runtime
    /// close it. The descriptor number is pointed at a fresh, unconnected socket (dup2 is atomic), so whatever the
    /// runtime later does while disposing its Socket object (SO_LINGER {on, 0}, connect(AF_UNSPEC) to unblock an
    /// accept, unlinking a Unix socket path) happens to that stand-in and never to the socket the successor serves.
    /// </summary>
    public static void DetachShared(int fd)
    {
        var standIn = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        if (standIn == -1)
        {
            throw PosixException.FromLastError("socket(AF_UNIX)");
        }

        try
        {
            if (Libc.Dup2(standIn, fd) == -1)
            {
                throw PosixException.FromLastError($"dup2({standIn}, {fd})");
            }

            SetCloseOnExec(fd, true);
        }
        finally
        {
            _ = Libc.Close(standIn);
        }
    }

    public static void Close(int fd) => _ = Libc.Close(fd);

    /// <summary>Points <paramref name="target"/> at what <paramref name="source"/> is, then closes <paramref name="source"/>.</summary>
    public static void MoveTo(int source, int target)
    {
        if (Libc.Dup2(source, target) == -1)
        {
            throw PosixException.FromLastError($"dup2({source}, {target})");
        }

        _ = Libc.Close(source);
    }

    /// <summary>A connected pair of Unix stream sockets, both close-on-exec: a two-way channel between two processes.</summary>
    public static (int Fd0, int Fd1) CreateSocketPair()
    {
        int* fds = stackalloc int[2];
        if (Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, fds) == -1)
        {
            throw PosixException.FromLastError("socketpair");
        }

        return (fds[0], fds[1]);
    }

    /// <summary>True for a connected stream socket open for reading and writing (what the handover channel must be).</summary>
    public static bool IsStreamSocket(int fd)
    {
        int type = 0;
        uint length = sizeof(int);
        var flags = Libc.Fcntl(fd, Libc.F_GETFL, 0);
        return flags != -1 && (flags & Libc.O_ACCMODE) == Libc.O_RDWR
            && Libc.GetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_TYPE, &type, &length) == 0 && type == Libc.SOCK_STREAM;
    }

    /// <summary>The address a socket is bound to (getsockname): IPv4, IPv6 or a Unix path; null for anything else.</summary>
    public static EndPoint? BoundEndPoint(int fd)
    {
        const int Size = 128; // sockaddr_storage
        var address = stackalloc byte[Size];
        uint length = Size;
        if (Libc.GetSockName(fd, address, &length) == -1)
        {
            return null;
        }

        var family = *(ushort*)address;
        var bytes = new ReadOnlySpan<byte>(address, (int)length);
        switch (family)
        {
            case Libc.AF_INET when length >= 8:
                return new IPEndPoint(new IPAddress(bytes.Slice(4, 4)), (bytes[2] << 8) | bytes[3]);
            case Libc.AF_INET6 when length >= 28:
                // family, port, flow info, address, scope id
                return new IPEndPoint(new IPAddress(bytes.Slice(8, 16), BitConverter.ToUInt32(bytes.Slice(24, 4))), (bytes[2] << 8) | bytes[3]);
            case Libc.AF_UNIX:
                var path = bytes[2..];
                var end = path.IndexOf((byte)0);
                return new UnixDomainSocketEndPoint(System.Text.Encoding.UTF8.GetString(end >= 0 ? path[..end] : path));
            default:
                return null;
        }
    }

    /// <summary>What a descriptor refers to, as the kernel names it ("pipe:[1234]", a path...); null when not open.</summary>
    public static string? Identity(int fd) => new FileInfo("/proc/self/fd/" + fd.ToString(System.Globalization.CultureInfo.InvariantCulture)).LinkTarget;

    /// <summary>
    /// Points every descriptor of this process that writes into the same pipe as <paramref name="writeEnd"/> at
    /// <paramref name="target"/> instead: descriptor 2 and the copies the runtime made of it (Console.Error holds its
    /// own). dup2 replaces each atomically, so a writer never sees a closed descriptor.
    /// </summary>
    /// <returns>The descriptors redirected.</returns>
    public static IReadOnlyList<int> RedirectPipeWriters(int writeEnd, int target)
    {
        var pipe = Identity(writeEnd);
        var redirected = new List<int>();
        if (pipe is null || !pipe.StartsWith("pipe:", StringComparison.Ordinal))
        {
            return redirected;
        }

        foreach (var fd in ProcessSpawner.OpenDescriptorsFrom(0))
        {
            // Checked again right before the dup2 (the listing is a moment old), and only write ends: the read end of
            // the same pipe has the same name.
            if (fd == target || Identity(fd) != pipe || !IsWriteOnly(fd))
            {
                continue;
            }

            var closeOnExec = IsCloseOnExec(fd);
            if (Libc.Dup2(target, fd) == -1)
            {
                continue;
            }

            SetCloseOnExec(fd, closeOnExec);
            redirected.Add(fd);
        }

        return redirected;
    }

    public static (int ReadFd, int WriteFd) CreatePipe()
    {
        int* fds = stackalloc int[2];
        if (Libc.Pipe2(fds, Libc.O_CLOEXEC) == -1)
        {
            throw PosixException.FromLastError("pipe2");
        }

        return (fds[0], fds[1]);
    }
}
