using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Blog.Tests;

/// <summary>`Blog users add NAME`, run as a process (the JIT build, or BLOG_TEST_EXE), password on standard input.</summary>
public sealed class UsersCommandTests : IDisposable
{
    private readonly string contentRoot = BlogProcess.NewContentRoot();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(contentRoot, recursive: true);
    }

    [Fact]
    public async Task Users_add_stores_a_600000_iteration_pbkdf2_hash_and_says_where()
    {
        var result = await AddAsync("alice", "alice password\n");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"Created user 'alice' in the sqlite database at {Path.Combine(contentRoot, "data", "blog.db")} (PBKDF2-SHA256, 600000 iterations).", result.Output.Trim());
        Assert.Equal("", result.Error);

        var stored = await BlogDatabaseFile.ReadHashAsync(contentRoot, "alice");
        Assert.StartsWith("pbkdf2-sha256$600000$", stored, StringComparison.Ordinal);
        Assert.True(Auth.PasswordHasher.Verify("alice password", stored));
    }

    [Fact]
    public async Task Users_add_starts_no_server_and_binds_nothing()
    {
        // The port it would be told to serve on is taken: a command that tried to bind would fail.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var result = await BlogProcess.RunCommandAsync(contentRoot, "bob password\n", null, "users", "add", "bob", "--urls", $"http://127.0.0.1:{port}");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("Now listening", result.Output + result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(contentRoot, "data", "blog.pid")), "a pid file means a server started");
    }

    [Fact]
    public async Task Users_add_refuses_an_existing_user_and_leaves_its_password()
    {
        Assert.Equal(0, (await AddAsync("carol", "first password\n")).ExitCode);
        var before = await BlogDatabaseFile.ReadHashAsync(contentRoot, "carol");

        var again = await AddAsync("carol", "second password\n");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("user 'carol' already exists", again.Error, StringComparison.Ordinal);
        Assert.Contains("nothing changed", again.Error, StringComparison.Ordinal);
        Assert.Equal(before, await BlogDatabaseFile.ReadHashAsync(contentRoot, "carol"));
    }

    [Theory]
    [InlineData("", "no password on standard input")]
    [InlineData("\n", "the password (the first line of standard input) is empty")]
    [InlineData("   \n", "the password (the first line of standard input) is empty")]
    [InlineData("012345678901234567890123456789012345678901234567890\n", "longer than 50 characters")]
    public async Task Users_add_refuses_an_unusable_password_with_a_clear_message(string input, string message)
    {
        var result = await AddAsync("dave", input);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: ", result.Error, StringComparison.Ordinal);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(contentRoot, "data", "blog.db")), "nothing is written for a refused password");
    }

    [Theory]
    [InlineData("users")]
    [InlineData("users", "add")]
    [InlineData("users", "remove", "x")]
    [InlineData("users", "add", "--contentRoot")]
    public async Task Users_without_a_known_subcommand_and_name_prints_the_usage_and_exits_2(params string[] arguments)
    {
        var result = await BlogProcess.RunCommandAsync(contentRoot, "x\n", null, arguments);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("usage: Blog users add NAME", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Users_add_reports_bad_database_settings()
    {
        var result = await BlogProcess.RunCommandAsync(contentRoot, "x password\n", null, "users", "add", "erin", "--Database:Provider=mysql");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Database:Provider must be 'sqlite' or 'postgres'", result.Error, StringComparison.Ordinal);
    }

    private Task<CommandResult> AddAsync(string username, string standardInput) =>
        BlogProcess.RunCommandAsync(contentRoot, standardInput, null, "users", "add", username);
}
