namespace Baton.Interop;

/// <summary>How a child process ended, as waitpid reports it.</summary>
internal readonly record struct ChildExit(int? ExitCode, int? Signal)
{
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

    public static void Signal(int pid, int signal) => _ = Libc.Kill(pid, signal);

    private static ChildExit Decode(int status)
    {
        var termination = status & 0x7f;
        return termination == 0 ? new ChildExit((status >> 8) & 0xff, null) : new ChildExit(null, termination);
    }
}
