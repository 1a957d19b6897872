using System.Text;

namespace Baton.Handover;

/// <summary>How this process was started, captured at start-up so that a successor is started the same way.</summary>
internal sealed record SuccessorCommand(string ExecutablePath, IReadOnlyList<string> Arguments, string WorkingDirectory)
{
    public static SuccessorCommand CaptureCurrent()
    {
        var executable = Environment.ProcessPath
            ?? throw new BatonStartupException("Cannot tell which executable this process runs (Environment.ProcessPath is null).");

        // /proc/self/cmdline is argv exactly as exec'd, including a host's own arguments (`dotnet exec --runtimeconfig ...`);
        // Environment.GetCommandLineArgs() would lose those.
        var raw = File.ReadAllBytes("/proc/self/cmdline");
        var arguments = Encoding.UTF8.GetString(raw).TrimEnd('\0').Split('\0');
        return Choose(executable, arguments, Environment.CurrentDirectory, Environment.GetEnvironmentVariable("PWD"), Interop.Paths.Resolve);
    }

    /// <summary>
    /// Keeps the paths as the user gave them, symbolic links included, where they name the same files: a deploy that
    /// switches <c>/srv/app/current</c> from one release to the next and sends SIGHUP must start the NEXT release.
    /// The kernel reports only resolved paths (the executable, getcwd), which would start the old one again.
    /// </summary>
    internal static SuccessorCommand Choose(string processPath, string[] arguments, string physicalDirectory, string? shellDirectory, Func<string, string?> resolve)
    {
        var directory = shellDirectory is { Length: > 0 } && Path.IsPathRooted(shellDirectory)
            && resolve(shellDirectory) is { } resolvedShell && resolvedShell == resolve(physicalDirectory)
                ? shellDirectory
                : physicalDirectory;

        var executable = processPath;
        if (arguments.Length > 0 && arguments[0].Contains('/', StringComparison.Ordinal))
        {
            var given = Path.GetFullPath(arguments[0], directory);
            if (resolve(given) is { } resolvedGiven && resolvedGiven == resolve(processPath))
            {
                executable = given;
            }
        }

        return new SuccessorCommand(executable, arguments, directory);
    }

    public IEnumerable<string> EnvironmentWithout(IReadOnlyList<string> excluded)
    {
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            var name = (string)entry.Key;
            if (!excluded.Contains(name, StringComparer.Ordinal))
            {
                yield return name + "=" + (string?)entry.Value;
            }
        }
    }
}

