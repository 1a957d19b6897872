namespace Baton.Interop;

/// <summary>How a child process ended, as waitpid reports it.</summary>
internal readonly record struct ChildExit(int? ExitCode, int? Signal)
{
    /// <summary>As a shell reports it: the exit code, or 128 + the signal.</summary>
    public int ShellStatus => ExitCode ?? (Signal is { } signal ? 128 + signal : 1);

    public override string ToString() =>
        ExitCode is { } code ? $"exited with code {code}"
        : Signal is { } signal ? $"was killed by signal {signal}{SignalName(signal)}"
        : "ended";

    private static string SignalName(int signal) => signal switch
    {
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        15 => " (SIGTERM)",
        _ => string.Empty,
    };
}

/// <summary>Signals and reaping for processes Baton started itself (the runtime does not know about them).</summary>
internal static unsafe class ChildProcesses
{
    /// <summary>Reaps the child if it has ended; null while it runs.</summary>
    public static ChildExit? TryReap(int pid)
    {
        int status;
        int result;
        do
        {
            result = Libc.WaitPid(pid, &status, Libc.WNOHANG);
        }
        while (result == -1 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Libc.EINTR);

        if (result == 0)
        {
            return null;
        }

        if (result == -1)
        {
            // ECHILD: someone else reaped it (a runtime that reaps every child); it is gone all the same.
            return new ChildExit(null, null);
        }

        return Decode(status);
    }

    /// <summary>
    /// Waits for any child (or orphan re-parented to this subreaper) to end and reaps it; null when there is none to wait
    /// for (ECHILD).
    /// </summary>
    public static (int Pid, ChildExit Exit)? WaitAny()
    {
        int status;
        int result;
        do
        {
            result = Libc.WaitPid(-1, &status, 0);
        }
        while (result == -1 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Libc.EINTR);

        return result == -1 ? null : (result, Decode(status));
    }

    /// <summary>Makes this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER), as init is.</summary>
    public static void BecomeSubreaper()
    {
        if (Libc.PrCtl(36 /* PR_SET_CHILD_SUBREAPER */, 1, 0, 0, 0) == -1)
        {
            throw PosixException.FromLastError("prctl(PR_SET_CHILD_SUBREAPER)");
        }
    }

    public static bool Signal(int pid, int signal) => Libc.Kill(pid, signal) == 0;

    private static ChildExit Decode(int status)
    {
        var termination = status & 0x7f;
        return termination == 0 ? new ChildExit((status >> 8) & 0xff, null) : new ChildExit(null, termination);
    }
}
