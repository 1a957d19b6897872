using System.Diagnostics;

namespace Baton.IntegrationTests.Infrastructure;

/// <summary>The baton command (src/Baton.Cli), run as a real process.</summary>
internal static class BatonCli
{
    public static string Assembly { get; } = FindBuild();

    /// <summary>The command line that starts baton with <paramref name="arguments"/>.</summary>
    public static IReadOnlyList<string> Command(params string[] arguments) => ["dotnet", Assembly, .. arguments];

    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Assembly);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("baton did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"baton {string.Join(' ', arguments)} did not end within 120 s");
        }

        return (process.ExitCode, await output, await error);
    }

    private static string FindBuild()
    {
        var configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(SampleApp.RepositoryRoot, "src", "Baton.Cli", "bin", configuration, "net10.0", "baton.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build the solution first.", path);
    }
}
