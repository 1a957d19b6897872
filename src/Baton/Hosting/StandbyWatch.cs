using Baton.Handover;
using Microsoft.Extensions.Configuration;

namespace Baton.Hosting;

/// <summary>
/// The files a standby depends on, as this process knows them (a standby runs the same program with the same
/// arguments and environment, so it reads the same ones - or the program changed, which shows here too):
/// <list type="bullet">
/// <item>every file configuration source (appsettings.json, appsettings.{Environment}.json - watched even while it does
/// not exist - and whatever the app added);</item>
/// <item>every certificate and key file the <c>Kestrel</c> section names (<c>...:Path</c>, <c>...:KeyPath</c>);</item>
/// <item>the app: its assemblies and native libraries (<c>*.dll</c>, <c>*.so</c>, <c>*.runtimeconfig.json</c>,
/// <c>*.deps.json</c>) in its directory and under <c>runtimes/</c>, the directory itself (which one it is, not what else
/// is in it: a pid file, a log or a database beside the app changes nothing), the executable, the arguments that name
/// files (<c>dotnet app.dll</c>) and the installed runtime versions (an update adds one);</item>
/// <item><see cref="BatonOptions.StandbyWatch"/>.</item>
/// </list>
/// The app's directory is listed again at each snapshot: a file added there (a new assembly) is a change.
/// </summary>
internal sealed class StandbyWatch : IStandbyWatch
{
    private readonly IReadOnlyList<string> _fixedPaths;
    private readonly string _appDirectory;
    private readonly string? _runtimeVersions;

    public StandbyWatch(IConfiguration configuration, string contentRoot, IEnumerable<string> extra, SuccessorCommand command)
    {
        _appDirectory = Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory);
        var paths = new List<string>();
        paths.AddRange(ConfigurationFiles(configuration));
        paths.AddRange(KestrelFiles(configuration, contentRoot));
        paths.AddRange(extra.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => Path.GetFullPath(p, contentRoot)));
        paths.Add(_appDirectory);
        paths.Add(command.ExecutablePath);
        paths.AddRange(command.Arguments.Where(a => a.Length > 0 && a[0] != '-' && File.Exists(Path.GetFullPath(a, command.WorkingDirectory)))
            .Select(a => Path.GetFullPath(a, command.WorkingDirectory)));
        if (Environment.ProcessPath is { } executable)
        {
            paths.Add(executable);
        }

        var runtime = Path.TrimEndingDirectorySeparator(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory());
        if (runtime.Length > 0 && !string.Equals(runtime, _appDirectory, StringComparison.Ordinal) && Path.GetDirectoryName(runtime) is { } versions)
        {
            _runtimeVersions = versions;
        }

        _fixedPaths = [.. paths.Distinct(StringComparer.Ordinal)];
    }

    public StandbySnapshot Take() => StandbySnapshot.Of(_fixedPaths.Concat(AppFiles()).Concat(RuntimeVersions()));

    /// <summary>The configuration's files, also those a chained configuration (the host's, in the app's) holds.</summary>
    internal static IEnumerable<string> ConfigurationFiles(IConfiguration configuration)
    {
        if (configuration is not IConfigurationRoot root)
        {
            yield break;
        }

        foreach (var provider in root.Providers)
        {
            switch (provider)
            {
                case FileConfigurationProvider { Source: { Path: { Length: > 0 } path } source }:
                    if (source.FileProvider?.GetFileInfo(path)?.PhysicalPath is { } physical)
                    {
                        yield return physical;
                    }
                    else if (source.FileProvider is Microsoft.Extensions.FileProviders.PhysicalFileProvider directory)
                    {
                        // An optional file that does not exist (yet): created later, it is a change.
                        yield return Path.GetFullPath(path, directory.Root);
                    }
                    else if (Path.IsPathRooted(path))
                    {
                        yield return path;
                    }

                    break;
                case ChainedConfigurationProvider chained:
                    foreach (var file in ConfigurationFiles(chained.Configuration))
                    {
                        yield return file;
                    }

                    break;
            }
        }
    }

    /// <summary>Certificate and key files named under <c>Kestrel</c>: read at start, so a swap needs a new process.</summary>
    internal static IEnumerable<string> KestrelFiles(IConfiguration configuration, string contentRoot) =>
        configuration.GetSection("Kestrel").AsEnumerable()
            .Where(pair => pair.Value is { Length: > 0 }
                && (pair.Key.EndsWith(":Path", StringComparison.OrdinalIgnoreCase) || pair.Key.EndsWith(":KeyPath", StringComparison.OrdinalIgnoreCase)))
            .Select(pair => Path.GetFullPath(pair.Value!, contentRoot));

    /// <summary>The runtime versions installed beside the one this process runs on: one added is an update to roll forward to.</summary>
    private IEnumerable<string> RuntimeVersions()
    {
        if (_runtimeVersions is null)
        {
            return [];
        }

        try
        {
            return [.. Directory.EnumerateDirectories(_runtimeVersions)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Whether a file in the app's directory is part of the app (not data that lives beside it).</summary>
    internal static bool IsAppFile(string name) =>
        name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith(".so", StringComparison.Ordinal)
        || name.Contains(".so.", StringComparison.Ordinal)
        || name.EndsWith(".runtimeconfig.json", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith(".deps.json", StringComparison.OrdinalIgnoreCase);

    private IEnumerable<string> AppFiles()
    {
        try
        {
            var files = Directory.EnumerateFiles(_appDirectory).Where(f => IsAppFile(Path.GetFileName(f)));
            var runtimes = Path.Combine(_appDirectory, "runtimes");
            if (Directory.Exists(runtimes))
            {
                files = files.Concat(Directory.EnumerateFiles(runtimes, "*", SearchOption.AllDirectories));
            }

            return [.. files];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The directory itself is watched too: gone or unreadable, that shows as a change.
            return [];
        }
    }
}
