using System.Runtime.InteropServices;

namespace Baton.Interop;

/// <summary>A failed system call, named, with its errno and the system's text for it.</summary>
internal sealed class PosixException : IOException
{
    public PosixException(string call, int errno)
        : base($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Call = call;
        Errno = errno;
    }

    public string Call { get; }

    public int Errno { get; }

    public static PosixException FromLastError(string call) => new(call, Marshal.GetLastPInvokeError());
}
