using System.Data.Common;
using Blog.Auth;
using Blog.Data;
using Blog.Endpoints;
using Blog.Options;
using Microsoft.Extensions.Options;

namespace Blog.Cli;

/// <summary>
/// <c>Blog users add NAME</c>: creates a user that may ask for tokens, with the password read as one line from standard
/// input, in the database the server would use (the same appsettings files, environment variables and command line).
/// It creates or migrates the schema like the server, then exits: no server is started and nothing is bound.
/// </summary>
/// <remarks>
/// An existing user is refused, not updated (exit code 1, nothing changed): <c>add</c> never replaces a password by
/// accident. Exit codes: 0 created, 1 refused or failed (the reason on standard error), 2 usage.
/// </remarks>
internal static class UsersCommand
{
    public const int Created = 0;
    public const int Failed = 1;
    public const int Usage = 2;

    private const string UsageText =
        """
        usage: Blog users add NAME [--contentRoot DIR] [--Database:Provider=...] [--Database:ConnectionString=...]
          Creates the user NAME with the password read as one line from standard input, e.g.
            printf '%s\n' "$PASSWORD" | dotnet Blog.dll users add alice
          Uses the database the server would use (appsettings.json, appsettings.{Environment}.json, environment
          variables, then the options given here). An existing user is refused and left unchanged.
        """;

    /// <summary>True when the command line asks for this command rather than the server.</summary>
    public static bool Matches(string[] args) => args.Length > 0 && args[0] == "users";

    public static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output, TextWriter error)
    {
        if (args.Length < 3 || args[1] != "add" || args[2].StartsWith('-'))
        {
            await error.WriteLineAsync(UsageText);
            return Usage;
        }

        var username = args[2];
        if (CheckUsername(username) is { } badName)
        {
            await error.WriteLineAsync($"error: the user name {badName}; nothing changed.");
            return Failed;
        }

        var password = await input.ReadLineAsync();
        if (CheckPassword(password) is { } badPassword)
        {
            await error.WriteLineAsync($"error: {badPassword}; nothing changed.");
            return Failed;
        }

        // The server's own builder, so the configuration is read exactly as the server reads it; it is never run.
        var builder = WebApplication.CreateSlimBuilder(args[3..]);
        builder.Logging.ClearProviders();
        builder.Services.AddBlogData();
        await using var app = builder.Build();
        try
        {
            var database = app.Services.GetRequiredService<BlogDatabase>();
            await SchemaMigrator.MigrateAsync(database, CancellationToken.None);
            var store = app.Services.GetRequiredService<BlogStore>();
            if (!await store.EnsureUserAsync(username, () => PasswordHasher.Hash(password!), CancellationToken.None))
            {
                await error.WriteLineAsync($"error: user '{username}' already exists in the {database.Provider} database at {database.Location}; nothing changed.");
                return Failed;
            }

            await output.WriteLineAsync(
                $"Created user '{username}' in the {database.Provider} database at {database.Location} (PBKDF2-SHA256, {PasswordHasher.DefaultIterations} iterations).");
            return Created;
        }
        catch (OptionsValidationException ex)
        {
            await error.WriteLineAsync("error: bad settings: " + string.Join(" ", ex.Failures));
            return Failed;
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            await error.WriteLineAsync($"error: the user could not be stored: {ex.Message}");
            return Failed;
        }
    }

    /// <summary>Why <paramref name="username"/> could never log in through <c>POST /auth</c>, or null.</summary>
    private static string? CheckUsername(string username)
    {
        if (string.IsNullOrWhiteSpace(username))
        {
            return "is empty";
        }

        if (username.Trim() != username)
        {
            return "starts or ends with white space (POST /auth trims it)";
        }

        if (username.Length > Credentials.MaxLength)
        {
            return $"is longer than {Credentials.MaxLength} characters (POST /auth accepts at most {Credentials.MaxLength})";
        }

        return username.Any(char.IsControl) ? "contains a control character" : null;
    }

    /// <summary>Why <paramref name="password"/> (a line from standard input, or null at its end) cannot be used, or null.</summary>
    private static string? CheckPassword(string? password)
    {
        if (password is null)
        {
            return "no password on standard input: pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | dotnet Blog.dll users add NAME";
        }

        if (string.IsNullOrWhiteSpace(password))
        {
            return "the password (the first line of standard input) is empty";
        }

        return password.Length > Credentials.MaxLength
            ? $"the password is longer than {Credentials.MaxLength} characters (POST /auth accepts at most {Credentials.MaxLength})"
            : null;
    }
}
