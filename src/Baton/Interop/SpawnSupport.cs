using System.Runtime.InteropServices;

namespace Baton.Interop;

/// <summary>
/// What this C library offers for starting a successor with an exact set of descriptors in a chosen directory.
/// glibc 2.34+ has <c>posix_spawn_file_actions_addclosefrom_np</c> and 2.29+ <c>addchdir_np</c>; musl has
/// <c>addchdir_np</c> (1.1.24+) but no <c>addclosefrom_np</c>; glibc 2.28 (RHEL 8) has neither. Each missing one
/// has a fallback with the same guarantee (see <see cref="ProcessSpawner"/>), chosen here once, at start.
/// </summary>
internal sealed unsafe class SpawnSupport
{
    /// <summary>Set to 1 to use both fallbacks even where the C library has the functions (how CI tests them).</summary>
    public const string ForcePortableVariable = "BATON_PORTABLE_SPAWN";

    private SpawnSupport(delegate* unmanaged<void*, int, int> closeFrom, delegate* unmanaged<void*, byte*, int> changeDirectory, string library)
    {
        CloseFrom = closeFrom;
        ChangeDirectory = changeDirectory;
        Library = library;
    }

    /// <summary>posix_spawn_file_actions_addclosefrom_np, or null: list the open descriptors and close each.</summary>
    public delegate* unmanaged<void*, int, int> CloseFrom { get; }

    /// <summary>posix_spawn_file_actions_addchdir_np, or null: change this process's directory around the spawn.</summary>
    public delegate* unmanaged<void*, byte*, int> ChangeDirectory { get; }

    /// <summary>The C library, as far as it says ("glibc 2.36"; musl does not say).</summary>
    public string Library { get; }

    public bool IsPortable => CloseFrom == null || ChangeDirectory == null;

    public static SpawnSupport Current { get; } = Detect(Environment.GetEnvironmentVariable(ForcePortableVariable) == "1");

    public string Describe() =>
        (CloseFrom != null, ChangeDirectory != null) switch
        {
            (true, true) => $"{Library}: posix_spawn with addclosefrom_np and addchdir_np",
            (false, false) => $"{Library}: posix_spawn, descriptors closed one by one, directory changed around the spawn (portable)",
            (false, true) => $"{Library}: posix_spawn with addchdir_np, descriptors closed one by one (portable)",
            (true, false) => $"{Library}: posix_spawn with addclosefrom_np, directory changed around the spawn (portable)",
        };

    internal static SpawnSupport Detect(bool forcePortable)
    {
        // The main program's handle finds whatever libc the process runs on (glibc or musl), under the JIT and
        // under NativeAOT alike, without naming the library file.
        var process = NativeLibrary.GetMainProgramHandle();
        var library = "C library without gnu_get_libc_version (musl?)";
        if (NativeLibrary.TryGetExport(process, "gnu_get_libc_version", out var version))
        {
            library = "glibc " + Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)version)());
        }

        if (forcePortable)
        {
            return new SpawnSupport(null, null, library + $" ({ForcePortableVariable}=1)");
        }

        NativeLibrary.TryGetExport(process, "posix_spawn_file_actions_addclosefrom_np", out var closeFrom);
        NativeLibrary.TryGetExport(process, "posix_spawn_file_actions_addchdir_np", out var changeDirectory);
        return new SpawnSupport(
            (delegate* unmanaged<void*, int, int>)closeFrom,
            (delegate* unmanaged<void*, byte*, int>)changeDirectory,
            library);
    }
}
