using Microsoft.Data.Sqlite;

namespace Blog.Tests;

/// <summary>Reads a content root's SQLite file (data/blog.db) directly, read-only and unpooled, to check what was stored.</summary>
internal static class BlogDatabaseFile
{
    public static async Task<string> ReadHashAsync(string contentRoot, string username)
    {
        await using var connection = Open(contentRoot);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT password FROM blog_auth WHERE username = $name";
        command.Parameters.AddWithValue("$name", username);
        return (string)(await command.ExecuteScalarAsync() ?? throw new InvalidOperationException($"no user '{username}'"));
    }

    public static async Task<long> CountUsersAsync(string contentRoot)
    {
        await using var connection = Open(contentRoot);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM blog_auth";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static SqliteConnection Open(string contentRoot)
    {
        var connection = new SqliteConnection($"Data Source={Path.Combine(contentRoot, "data", "blog.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }
}
