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
}
