using System.Runtime.InteropServices;
using System.Text;

namespace Baton.Interop;

/// <summary>What to start: the program, its argv and environment, and the exact descriptors it gets.</summary>
/// <param name="ExecutablePath">Path given to execve.</param>
/// <param name="Arguments">The whole argv, argv[0] included.</param>
/// <param name="Environment">"NAME=value" entries.</param>
/// <param name="WorkingDirectory">Directory the new process starts in.</param>
/// <param name="InheritedDescriptors">Descriptors of this process that the new one receives as 3, 4, 5... in order.</param>
/// <param name="StandardError">A descriptor to give the new process as its standard error; null: ours.</param>
internal sealed record SpawnRequest(
    string ExecutablePath,
    IReadOnlyList<string> Arguments,
    IReadOnlyList<string> Environment,
    string WorkingDirectory,
    IReadOnlyList<int> InheritedDescriptors,
    int? StandardError = null);

/// <summary>
/// Starts a process with posix_spawn and an exact descriptor list: stdin/stdout/stderr, then the given descriptors
/// renumbered from 3, and nothing else. Process.Start would hand on every descriptor that lacks close-on-exec,
/// including ones leaked into us by the shell, to every later generation.
/// </summary>
internal static unsafe class ProcessSpawner
{
    public const int FirstInheritedDescriptor = 3;

    // Larger than glibc's posix_spawn_file_actions_t (80 bytes), posix_spawnattr_t (336) and sigset_t (128).
    private const int OpaqueSize = 1024;

    public static int Spawn(SpawnRequest request)
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
            foreach (var fd in request.StandardError is { } standardError ? request.InheritedDescriptors.Append(standardError) : request.InheritedDescriptors)
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

            if (request.StandardError is not null)
            {
                Check(Libc.SpawnFileActionsAddDup2(fileActions, staged[count], 2), "posix_spawn_file_actions_adddup2");
            }

            Check(Libc.SpawnFileActionsAddCloseFrom(fileActions, firstFree), "posix_spawn_file_actions_addclosefrom_np");
            Check(Libc.SpawnFileActionsAddChdir(fileActions, strings.Add(request.WorkingDirectory)), "posix_spawn_file_actions_addchdir_np");

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

            int pid;
            var error = Libc.PosixSpawn(&pid, path, fileActions, attributes, argv, envp);
            if (error != 0)
            {
                throw new PosixException($"posix_spawn({request.ExecutablePath})", error);
            }

            return pid;
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
