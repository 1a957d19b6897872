using System.Runtime.InteropServices;

namespace Baton.IntegrationTests.Infrastructure;

/// <summary>Signals by pid, and liveness that treats a zombie as gone.</summary>
internal static partial class Posix
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGUSR2 = 12;
    public const int SIGTERM = 15;
    public const int SIGTSTP = 20;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillNative(int pid, int signal);

    public static void Kill(int pid, int signal)
    {
        if (KillNative(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseNative(int fd);

    /// <summary>
    /// A copy of <paramref name="fd"/> numbered exactly <paramref name="at"/> and WITHOUT close-on-exec: every process
    /// started while it is open inherits it. Dispose closes it; keep it open only around the one start that needs it.
    /// </summary>
    public static InheritableDescriptor Inheritable(int fd, int at)
    {
        // F_DUPFD takes the lowest free number from "at" on: anything else means "at" is in use, and is refused rather
        // than closed under its owner.
        var copy = Fcntl(fd, 0 /* F_DUPFD */, at);
        if (copy == -1)
        {
            throw new InvalidOperationException($"fcntl(F_DUPFD, {fd}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        if (copy != at)
        {
            _ = CloseNative(copy);
            throw new InvalidOperationException($"descriptor {at} is in use in the test process");
        }

        return new InheritableDescriptor(copy);
    }

    /// <summary>
    /// The first of a block of descriptor numbers for <see cref="Inheritable"/>: well above every descriptor the test
    /// process has open now. The kernel gives out the lowest free number, so the other tests running meanwhile would
    /// have to open a hundred more descriptors before one of theirs took a number in the block (a fixed number, 200, was
    /// taken once the suite had grown).
    /// </summary>
    public static int FreeDescriptorBlock()
    {
        var highest = Directory.EnumerateFileSystemEntries("/proc/self/fd")
            .Select(path => int.TryParse(Path.GetFileName(path), out var fd) ? fd : 0)
            .DefaultIfEmpty(0)
            .Max();
        return Math.Max(200, highest + 100);
    }

    /// <summary>The kernel's name for what a descriptor of a process is ("socket:[1234]"); null when it is not open.</summary>
    public static string? DescriptorTarget(int pid, int fd)
    {
        try
        {
            return new FileInfo($"/proc/{pid}/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>What every open descriptor of a process refers to.</summary>
    public static IReadOnlyList<string> DescriptorTargets(int pid) =>
        Directory.EnumerateFiles($"/proc/{pid}/fd")
            .Select(path => int.Parse(Path.GetFileName(path), System.Globalization.CultureInfo.InvariantCulture))
            .Select(fd => DescriptorTarget(pid, fd)).OfType<string>().ToList();

    public sealed class InheritableDescriptor(int fd) : IDisposable
    {
        public int Fd { get; } = fd;

        public void Dispose() => _ = CloseNative(Fd);
    }

    /// <summary>Sends the signal; false when the process no longer exists (ESRCH).</summary>
    public static bool TryKill(int pid, int signal) => KillNative(pid, signal) == 0;

    /// <summary>
    /// Waits (up to 5 s) until no <paramref name="signal"/> is pending for <paramref name="pid"/>: the kernel keeps one
    /// pending signal of each kind, and a second one sent before the first was delivered merges into it.
    /// </summary>
    public static void WaitUntilNotPending(int pid, int signal)
    {
        var mask = 1UL << (signal - 1);
        var deadline = Environment.TickCount64 + 5000;
        while (Environment.TickCount64 < deadline)
        {
            string status;
            try
            {
                status = File.ReadAllText($"/proc/{pid}/status");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return;
            }

            var line = status.Split('\n').FirstOrDefault(l => l.StartsWith("ShdPnd:", StringComparison.Ordinal));
            if (line is null || (Convert.ToUInt64(line["ShdPnd:".Length..].Trim(), 16) & mask) == 0)
            {
                return;
            }

            Thread.Sleep(1);
        }
    }

    /// <summary>Running, and not a zombie waiting for a parent that has gone.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
