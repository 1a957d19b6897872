namespace Baton.Interop;

/// <summary>Undoes an inherited "ignore" for a signal, so that a PosixSignalRegistration for it can take effect.</summary>
internal static unsafe class SignalDispositions
{
    // Larger than struct sigaction on every Linux architecture.
    private const int SigActionSize = 512;

    /// <summary>
    /// nohup starts us with SIGHUP ignored, and `cmd &amp;` in a non-interactive shell with SIGINT/SIGQUIT ignored; the
    /// runtime respects an inherited ignore and would never deliver those signals to a registration. This must run
    /// before the runtime sets up its own signal handling (the first Console use or signal registration): for
    /// SIGINT/SIGQUIT it decides once, then, whether to install its handler. Only an ignored disposition is
    /// changed: a handler the runtime already installed is left in place.
    /// </summary>
    /// <returns>True when the signal had been ignored.</returns>
    public static bool RestoreDefaultIfIgnored(int signal)
    {
        if (Handler(signal) != Libc.SIG_IGN)
        {
            return false;
        }

        _ = Libc.Signal(signal, Libc.SIG_DFL);
        return true;
    }

    /// <summary>
    /// After a registration: true when the signal still has its default action, i.e. the runtime did not install a
    /// handler (it had decided before <see cref="RestoreDefaultIfIgnored"/> ran), so the signal would kill the process.
    /// </summary>
    public static bool IsUncaught(int signal) => Handler(signal) == Libc.SIG_DFL;

    /// <summary>Puts back the ignore a process was started with: better than a signal that kills it mid-request.</summary>
    public static void Ignore(int signal) => _ = Libc.Signal(signal, Libc.SIG_IGN);

    private static nint Handler(int signal)
    {
        var buffer = stackalloc byte[SigActionSize];
        new Span<byte>(buffer, SigActionSize).Clear();
        if (Libc.SigAction(signal, null, buffer) == -1)
        {
            throw PosixException.FromLastError($"sigaction({signal})");
        }

        return *(nint*)buffer;
    }
}
