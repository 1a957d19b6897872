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
