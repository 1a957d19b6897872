using System.Data.Common;

namespace Blog.Data;

/// <summary>
/// Brings the schema to the latest version: every step is idempotent (<c>IF NOT EXISTS</c>) and runs in one locked
/// transaction, so two processes that start against the same database (a handover, or two at once) are safe.
/// </summary>
internal static class SchemaMigrator
{
    /// <summary>Returns the version found and the version left.</summary>
    public static async Task<(int From, int To)> MigrateAsync(BlogDatabase database, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await database.PrepareAsync(connection, cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        await database.LockSchemaAsync(connection, transaction, cancellationToken);

        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS blog_schema (version INTEGER NOT NULL)", cancellationToken);
        int current;
        await using (var read = Sql.Command(connection, "SELECT COALESCE(MAX(version), 0) FROM blog_schema", transaction))
        {
            current = (int)await read.ScalarInt64Async(cancellationToken);
        }

        var latest = database.Migrations.Count;
        if (current > latest)
        {
            throw new InvalidOperationException(
                $"The {database.Provider} database at {database.Location} has schema version {current}, newer than this program's {latest}: it was written by a newer Blog.");
        }

        for (var version = current + 1; version <= latest; version++)
        {
            foreach (var statement in database.Migrations[version - 1])
            {
                await ExecuteAsync(connection, transaction, statement, cancellationToken);
            }

            await using var record = Sql.Command(connection, "INSERT INTO blog_schema (version) VALUES (@version)", transaction).With("@version", version);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (current, latest);
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string text, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, text, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
