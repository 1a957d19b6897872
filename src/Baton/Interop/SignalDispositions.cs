namespace Baton.Interop;

/// <summary>Undoes an inherited "ignore" for a signal, so that a PosixSignalRegistration for it can take effect.</summary>
internal static unsafe class SignalDispositions
{
    // Larger than struct sigaction on every Linux architecture.
    private const int SigActionSize = 512;

    /// <summary>
    /// nohup starts us with SIGHUP ignored, and `cmd &amp;` in a non-interactive shell with SIGINT/SIGQUIT ignored; the
    /// runtime respects an inherited ignore and would never deliver those signals to a registration. Only an
    /// ignored disposition is changed: a handler the runtime already installed is left in place.
    /// </summary>
    /// <returns>True when the signal had been ignored.</returns>
    public static bool RestoreDefaultIfIgnored(int signal)
    {
        var buffer = stackalloc byte[SigActionSize];
        new Span<byte>(buffer, SigActionSize).Clear();
        if (Libc.SigAction(signal, null, buffer) == -1)
        {
            throw PosixException.FromLastError($"sigaction({signal})");
        }

        var handler = *(nint*)buffer;
        if (handler != Libc.SIG_IGN)
        {
            return false;
        }

        _ = Libc.Signal(signal, Libc.SIG_DFL);
        return true;
    }
}
