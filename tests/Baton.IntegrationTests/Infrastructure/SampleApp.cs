namespace Baton.IntegrationTests.Infrastructure;

/// <summary>
/// Where a sample's build output is, and how to start it. BATON_TEST_HELLO_EXE points the tests at another build
/// of Hello (CI sets it to the NativeAOT binary); otherwise the JIT build beside the tests is used.
/// </summary>
internal sealed record SampleApp(string Directory, string FileName, string Arguments0)
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static SampleApp Hello => FromEnvironmentOr("BATON_TEST_HELLO_EXE", "Hello");

    /// <summary>The tests' own app for unusual cases (tests/Baton.TestApp), always the JIT build.</summary>
    public static SampleApp TestApp => Built("Baton.TestApp", "tests");

    public bool IsNative => !FileName.EndsWith(".dll", StringComparison.Ordinal);

    public static SampleApp Built(string project, string folder = "samples")
    {
        var configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var directory = Path.Combine(RepositoryRoot, folder, project, "bin", configuration, "net10.0");
        var dll = Path.Combine(directory, project + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build the solution first (dotnet build Baton.slnx -c {configuration}).", dll);
        }

        return new SampleApp(directory, project + ".dll", "dotnet");
    }

    private static SampleApp FromEnvironmentOr(string variable, string project)
    {
        var path = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(path))
        {
            return Built(project);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{variable}={path}: no such file.", path);
        }

        return new SampleApp(Path.GetDirectoryName(Path.GetFullPath(path))!, Path.GetFileName(path), string.Empty);
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Baton.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Baton.slnx not found above " + AppContext.BaseDirectory);
    }
}
