using System.Data.Common;

namespace Blog.Data;

/// <summary>
/// Brings the schema to the latest version: every step is idempotent (<c>IF NOT EXISTS</c>) and runs in one locked
/// transaction, so two processes that start against the same database (a handover, or two at once) are safe, and a
/// step that fails leaves the schema as it was.
/// </summary>
/// <remarks>
/// In a handover to a new build this runs in the successor while the old process still serves on the same database,
/// so every migration must be one the previous build can run on (expand, then contract in a later release). For the
/// same reason a database newer than this build is served as it is, not refused: that is a rollback (a SIGHUP into
/// the previous release), which expand-then-contract makes safe.
/// </remarks>
internal static class SchemaMigrator
{
    /// <summary>Returns the version found and the version left (the version found, when it is newer than this build's).</summary>
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
        if (current >= latest)
        {
            return (current, current);
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
