using System.Runtime.InteropServices;

namespace Baton.Interop;

/// <summary>
/// What says whether a file is still the one a process read: its device and inode (a file replaced by a rename, a
/// symbolic link pointed elsewhere, a Kubernetes ConfigMap update), its size, and its modification and change times in
/// nanoseconds. The change time cannot be set back by <c>touch</c>, <c>cp -p</c>, <c>tar</c> or <c>rsync -t</c>, so a
/// copy that keeps the old modification time is still seen. Symbolic links are followed. Of a directory only the
/// device and inode count.
/// </summary>
internal readonly record struct FileIdentity(bool Exists, ulong Device, ulong Inode, long Size, long ModifiedNs, long ChangedNs)
{
    public static readonly FileIdentity Missing = new(false, 0, 0, 0, 0, 0);

    /// <summary>Whether <see cref="Of"/> uses statx (all of the above) or, without it, .NET's size and modification time only.</summary>
    public static unsafe bool HasStatx => StatxSupport.Function != null;

    /// <summary>The identity of the file at <paramref name="path"/>; <see cref="Missing"/> when there is none (or it cannot be looked at).</summary>
    public static unsafe FileIdentity Of(string path)
    {
        if (StatxSupport.Function is var statx && statx != null)
        {
            const int AtFdCwd = -100;
            const uint BasicStats = 0x7ff;
            var buffer = stackalloc byte[256];
            var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
            fixed (byte* name = bytes)
            {
                if (statx(AtFdCwd, name, 0, BasicStats, buffer) != 0)
                {
                    // ENOENT, ENOTDIR, EACCES: for a fingerprint all the same - the file cannot be what was read.
                    return Missing;
                }
            }

            // A directory's times and size change with every file created in it (a pid file, a log): only which
            // directory it is counts (a symbolic link pointed at another release shows as another inode).
            const ushort TypeMask = 0xF000, Directory = 0x4000;
            if ((*(ushort*)(buffer + 28) & TypeMask) == Directory)
            {
                return new FileIdentity(true, ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140), *(ulong*)(buffer + 32), 0, 0, 0);
            }

            // struct statx has one layout on every architecture (that is what it is for).
            return new FileIdentity(
                Exists: true,
                Device: ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140),
                Inode: *(ulong*)(buffer + 32),
                Size: *(long*)(buffer + 40),
                ModifiedNs: Nanoseconds(buffer + 112),
                ChangedNs: Nanoseconds(buffer + 96));
        }

        var info = new FileInfo(path);
        if (info.Exists)
        {
            return new FileIdentity(true, 0, 0, info.Length, info.LastWriteTimeUtc.Ticks * 100, 0);
        }

        return Directory.Exists(path) ? new FileIdentity(true, 0, 0, 0, 0, 0) : Missing;
    }

    private static unsafe long Nanoseconds(byte* timestamp) => (*(long*)timestamp * 1_000_000_000L) + *(uint*)(timestamp + 8);

    /// <summary>
    /// statx is glibc 2.28+ and musl 1.2.5+; looked up at run time like <see cref="SpawnSupport"/>'s functions, so that
    /// an older C library - or a sandbox that refuses the call - falls back rather than failing.
    /// </summary>
    private static unsafe class StatxSupport
    {
        public static readonly delegate* unmanaged<int, byte*, int, uint, byte*, int> Function = Find();

        private static delegate* unmanaged<int, byte*, int, uint, byte*, int> Find()
        {
            if (!NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "statx", out var address))
            {
                return null;
            }

            var function = (delegate* unmanaged<int, byte*, int, uint, byte*, int>)address;

            // A seccomp filter (older container runtimes) may answer ENOSYS or EPERM for every path: try one that exists.
            var buffer = stackalloc byte[256];
            var root = "/\0"u8;
            fixed (byte* name = root)
            {
                return function(-100, name, 0, 0x7ff, buffer) == 0 ? function : null;
            }
        }
    }
}
