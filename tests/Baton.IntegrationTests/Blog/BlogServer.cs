using System.Diagnostics;
using Baton.IntegrationTests.Infrastructure;

namespace Baton.IntegrationTests.Blog;

/// <summary>A user of the Blog. Each test makes its own, so tests that share a PostgreSQL database never collide.</summary>
internal sealed record BlogUser(string Username, string Password)
{
    public static BlogUser New() => new("restart-" + Guid.NewGuid().ToString("N")[..12], "restart tests password");
}

/// <summary>
/// Starts the Blog (Production, as <see cref="ServerProcess"/> runs it) after creating its user the documented way:
/// <c>Blog users add NAME</c> in the server's work directory, with the password on standard input and the same
/// arguments and environment as the server, so it writes to the database the server will use.
/// </summary>
internal static class BlogServer
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    public static Task<ServerProcess> StartAsync(BlogUser user, IReadOnlyList<string>? arguments = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var app = SampleApp.Built("Blog");
        var variables = BlogClient.Environment.Concat(environment ?? new Dictionary<string, string>()).ToDictionary();
        return ServerProcess.StartAsync(app, arguments, environment: variables,
            prepare: workDirectory => AddUserAsync(app, workDirectory, user, arguments ?? []));
    }

    private static async Task AddUserAsync(SampleApp app, string workDirectory, BlogUser user, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo
        {
            FileName = app.IsNative ? Path.Combine(workDirectory, app.FileName) : "dotnet",
            WorkingDirectory = workDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (!app.IsNative)
        {
            start.ArgumentList.Add(app.FileName);
        }

        foreach (var argument in (string[])["users", "add", user.Username, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in BlogClient.Environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null");
        try
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.StandardInput.WriteLineAsync(user.Password);
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(CommandTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"users add {user.Username} did not exit within {CommandTimeout.TotalSeconds} s (killed).");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"users add {user.Username}: exit code {process.ExitCode}\n{await output}\n{await error}");
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit();
            }
        }
    }
}
