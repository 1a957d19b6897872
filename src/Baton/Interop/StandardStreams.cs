namespace Baton.Interop;

/// <summary>
/// Standard input, output and error as this process got them. One that was closed at start is not there, but its
/// number usually is: the runtime's first descriptors (an internal pipe) land on it, close-on-exec - which is how it is
/// told apart, since everything inherited across exec is not. Such a number is never handed on as a standard stream:
/// a successor would write its output into the runtime's pipe. It gets /dev/null there instead.
/// </summary>
internal sealed class StandardStreams
{
    private readonly int _devNull;

    private StandardStreams(IReadOnlyList<int> closedAtStart, int devNull)
    {
        ClosedAtStart = closedAtStart;
        _devNull = devNull;
    }

    /// <summary>Which of 0, 1, 2 were closed when the process started.</summary>
    public IReadOnlyList<int> ClosedAtStart { get; }

    /// <summary>
    /// Looks at 0, 1 and 2 before anything else opens descriptors. One not open at all is pointed at /dev/null, so the
    /// next socket or file cannot land there (and console writes with it).
    /// </summary>
    public static StandardStreams Inspect()
    {
        var closed = new List<int>();
        for (var fd = 0; fd <= 2; fd++)
        {
            if (!Descriptors.IsOpen(fd))
            {
                closed.Add(fd);
                Descriptors.MoveTo(OpenDevNull(), fd);
            }
            else if (Descriptors.IsCloseOnExec(fd))
            {
                closed.Add(fd);
            }
        }

        return new StandardStreams(closed, closed.Count > 0 ? OpenDevNull() : -1);
    }

    /// <summary>What a successor gets as standard descriptor <paramref name="fd"/>: ours, or /dev/null if ours was closed at start.</summary>
    public int ForSuccessor(int fd) => ClosedAtStart.Contains(fd) ? _devNull : fd;

    private static int OpenDevNull()
    {
        var fd = Libc.Open("/dev/null", Libc.O_RDWR | Libc.O_CLOEXEC);
        return fd == -1 ? throw PosixException.FromLastError("open(/dev/null)") : fd;
    }
}
