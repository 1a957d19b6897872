using System.Runtime.InteropServices;

namespace Baton.Interop;

/// <summary>Path questions only the C library answers exactly.</summary>
internal static unsafe class Paths
{
    /// <summary>The path with every symbolic link (of the file and of its directories) resolved; null if it does not exist.</summary>
    public static string? Resolve(string path)
    {
        var buffer = stackalloc byte[Libc.PathMax];
        return Libc.RealPath(path, buffer) == 0 ? null : Marshal.PtrToStringUTF8((nint)buffer);
    }

    /// <summary>Mode 0600: read and write for the owner only.</summary>
    public static void RestrictToOwner(string path)
    {
        if (Libc.ChMod(path, 0x180) == -1)
        {
            throw PosixException.FromLastError($"chmod({path}, 0600)");
        }
    }
}
