using System.Runtime.InteropServices;
using System.Text;

namespace Baton.Interop;

/// <summary>What to start: the program, its argv and environment, and the exact descriptors it gets.</summary>
/// <param name="ExecutablePath">Path given to execve.</param>
/// <param name="Arguments">The whole argv, argv[0] included.</param>
/// <param name="Environment">"NAME=value" entries.</param>
/// <param name="WorkingDirectory">Directory the new process starts in.</param>
/// <param name="InheritedDescriptors">Descriptors of this process that the new one receives as 3, 4, 5... in order.</param>
/// <param name="Standard">The descriptors to give the new process as 0, 1 and 2; null: ours.</param>
internal sealed record SpawnRequest(
    string ExecutablePath,
    IReadOnlyList<string> Arguments,
    IReadOnlyList<string> Environment,
    string WorkingDirectory,
    IReadOnlyList<int> InheritedDescriptors,
    IReadOnlyList<int>? Standard = null);

/// <summary>
/// Starts a process with posix_spawn and an exact descriptor list: stdin/stdout/stderr, then the given descriptors
/// renumbered from 3, and nothing else. Process.Start would hand on every descriptor that lacks close-on-exec,
/// including ones leaked into us by the shell, to every later generation.
/// </summary>
/// <remarks>
/// Where the C library lacks <c>addclosefrom_np</c> (glibc before 2.34, musl), every descriptor open at the spawn
/// from the first free number up is closed by its own close action: descriptors leaked into us at start are open
/// for our whole life, so they are all listed; the runtime and well-behaved native code open theirs close-on-exec.
/// Where it lacks <c>addchdir_np</c> (glibc before 2.29), this process changes its own directory for the moment of
/// the spawn and changes back (by descriptor, so even a deleted directory is returned to); spawns are serialized.
/// </remarks>
internal static unsafe class ProcessSpawner
{
    public const int FirstInheritedDescriptor = 3;

    // Larger than glibc's posix_spawn_file_actions_t (80 bytes), posix_spawnattr_t (336) and sigset_t (128).
    private const int OpaqueSize = 1024;

    private static readonly Lock DirectoryChange = new();

    public static int Spawn(SpawnRequest request) => Spawn(request, SpawnSupport.Current);

    public static int Spawn(SpawnRequest request, SpawnSupport support)
    {
        var count = request.InheritedDescriptors.Count;
        var firstFree = FirstInheritedDescriptor + count;

        // Move every source above the target range first, so that placing descriptor i at 3+i can never
        // overwrite a source that is still to be placed. The copies are close-on-exec: they never reach the child.
        var staged = new List<int>(count);
        var fileActions = NativeMemory.AllocZeroed(OpaqueSize);
        var attributes = NativeMemory.AllocZeroed(OpaqueSize);
        var signals = NativeMemory.AllocZeroed(OpaqueSize);
        var fileActionsReady = false;
        var attributesReady = false;
        using var strings = new NativeStrings();
        try
        {
            var standard = request.Standard ?? [0, 1, 2];
            foreach (var fd in request.InheritedDescriptors.Concat(standard))
            {
                var copy = Libc.Fcntl(fd, Libc.F_DUPFD_CLOEXEC, firstFree);
                if (copy == -1)
                {
                    throw PosixException.FromLastError($"fcntl(F_DUPFD_CLOEXEC, {fd})");
                }

                staged.Add(copy);
            }

            Check(Libc.SpawnFileActionsInit(fileActions), "posix_spawn_file_actions_init");
            fileActionsReady = true;
            for (var i = 0; i < count; i++)
            {
                // dup2 onto a different number clears close-on-exec on the target, which is what hands it on.
                Check(Libc.SpawnFileActionsAddDup2(fileActions, staged[i], FirstInheritedDescriptor + i), "posix_spawn_file_actions_adddup2");
            }

            for (var fd = 0; fd <= 2; fd++)
            {
                if (standard[fd] != fd)
                {
                    Check(Libc.SpawnFileActionsAddDup2(fileActions, staged[count + fd], fd), "posix_spawn_file_actions_adddup2");
                }
            }

            if (support.CloseFrom != null)
            {
                Check(support.CloseFrom(fileActions, firstFree), "posix_spawn_file_actions_addclosefrom_np");
            }
            else
            {
                foreach (var fd in OpenDescriptorsFrom(firstFree))
                {
                    Check(Libc.SpawnFileActionsAddClose(fileActions, fd), $"posix_spawn_file_actions_addclose({fd})");
                }
            }

            if (support.ChangeDirectory != null)
            {
                Check(support.ChangeDirectory(fileActions, strings.Add(request.WorkingDirectory)), "posix_spawn_file_actions_addchdir_np");
            }

            Check(Libc.SpawnAttrInit(attributes), "posix_spawnattr_init");
            attributesReady = true;

            // The child starts with no blocked signals and every signal at its default action: a SIGHUP or SIGINT
            // ignored by whoever started us (nohup, `cmd &`) must not stay ignored in the next generation.
            Check(Libc.SpawnAttrSetFlags(attributes, Libc.POSIX_SPAWN_SETSIGMASK | Libc.POSIX_SPAWN_SETSIGDEF), "posix_spawnattr_setflags");
            Libc.SigEmptySet(signals);
            Check(Libc.SpawnAttrSetSigMask(attributes, signals), "posix_spawnattr_setsigmask");
            Libc.SigFillSet(signals);
            Check(Libc.SpawnAttrSetSigDefault(attributes, signals), "posix_spawnattr_setsigdefault");

            var path = strings.Add(request.ExecutablePath);
            var argv = strings.AddArray(request.Arguments);
            var envp = strings.AddArray(request.Environment);

            return support.ChangeDirectory != null
                ? PosixSpawn(request.ExecutablePath, path, fileActions, attributes, argv, envp)
                : SpawnIn(strings.Add(request.WorkingDirectory), request, path, fileActions, attributes, argv, envp);
        }
        finally
        {
            foreach (var copy in staged)
            {
                _ = Libc.Close(copy);
            }

            if (fileActionsReady)
            {
                Libc.SpawnFileActionsDestroy(fileActions);
            }

            if (attributesReady)
            {
                Libc.SpawnAttrDestroy(attributes);
            }

            NativeMemory.Free(fileActions);
            NativeMemory.Free(attributes);
            NativeMemory.Free(signals);
        }
    }

    private static int PosixSpawn(string executable, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp)
    {
        int pid;
        var error = Libc.PosixSpawn(&pid, path, fileActions, attributes, argv, envp);
        if (error != 0)
        {
            throw new PosixException($"posix_spawn({executable})", error);
        }

        return pid;
    }

    /// <summary>The child starts in this process's directory: set it to the wanted one for the spawn, then restore it.</summary>
    private static int SpawnIn(byte* directory, SpawnRequest request, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp)
    {
        lock (DirectoryChange)
        {
            var current = Libc.Open(".", Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
            if (current == -1)
            {
                throw PosixException.FromLastError("open(., O_PATH)");
            }

            try
            {
                if (Libc.ChDir(directory) == -1)
                {
                    throw PosixException.FromLastError($"chdir({request.WorkingDirectory})");
                }

                try
                {
                    return PosixSpawn(request.ExecutablePath, path, fileActions, attributes, argv, envp);
                }
                finally
                {
                    // Back by descriptor: works even if the directory was deleted or renamed meanwhile. It cannot fail
                    // on a directory we hold open, and throwing here would lose the pid of a child that now runs.
                    _ = Libc.FChDir(current);
                }
            }
            finally
            {
                _ = Libc.Close(current);
            }
        }
    }

    /// <summary>The descriptors open now, from <paramref name="lowest"/> up (the listing's own descriptor is closed by then, harmlessly listed).</summary>
    internal static IReadOnlyList<int> OpenDescriptorsFrom(int lowest)
    {
        var open = new List<int>();
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var fd) && fd >= lowest)
            {
                open.Add(fd);
            }
        }

        return open;
    }

    private static void Check(int error, string call)
    {
        if (error != 0)
        {
            throw new PosixException(call, error);
        }
    }

    /// <summary>NUL-terminated UTF-8 copies that live until the spawn is done.</summary>
    private sealed class NativeStrings : IDisposable
    {
        private readonly List<nint> _blocks = [];

        public byte* Add(string value)
        {
            var byteCount = Encoding.UTF8.GetByteCount(value);
            var block = (byte*)NativeMemory.Alloc((nuint)byteCount + 1);
            _blocks.Add((nint)block);
            fixed (char* chars = value)
            {
                Encoding.UTF8.GetBytes(chars, value.Length, block, byteCount);
            }

            block[byteCount] = 0;
            return block;
        }

        public byte** AddArray(IReadOnlyList<string> values)
        {
            var array = (byte**)NativeMemory.AllocZeroed((nuint)(values.Count + 1), (nuint)sizeof(byte*));
            _blocks.Add((nint)array);
            for (var i = 0; i < values.Count; i++)
            {
                array[i] = Add(values[i]);
            }

            return array;
        }

        public void Dispose()
        {
            foreach (var block in _blocks)
            {
                NativeMemory.Free((void*)block);
            }
        }
    }
}
