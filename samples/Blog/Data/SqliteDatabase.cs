using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Blog.Data;

/// <summary>
/// The embedded default: one SQLite file in WAL mode, with a busy timeout, so that during a handover the draining
/// process and its successor can both read and write it: readers never wait, and a writer waits for the other
/// process's write to commit instead of failing with "database is locked".
/// </summary>
internal sealed class SqliteDatabase : BlogDatabase
{
    public const string DefaultDataSource = "data/blog.db";

    private const int SqliteConstraint = 19;
    private const int SqliteConstraintUnique = 2067;
    private const int SqliteConstraintPrimaryKey = 1555;

    private readonly string connectionString;
    private readonly string busyTimeoutPragma;

    public SqliteDatabase(string configured, string contentRoot, TimeSpan busyTimeout)
    {
        var builder = new SqliteConnectionStringBuilder(string.IsNullOrWhiteSpace(configured) ? $"Data Source={DefaultDataSource}" : configured);
        if (string.IsNullOrEmpty(builder.DataSource))
        {
            builder.DataSource = DefaultDataSource;
        }

        if (builder.DataSource != ":memory:" && builder.Mode != SqliteOpenMode.Memory)
        {
            builder.DataSource = Path.GetFullPath(builder.DataSource, contentRoot);
            Directory.CreateDirectory(Path.GetDirectoryName(builder.DataSource)!);
        }

        // Microsoft.Data.Sqlite's own retry on SQLITE_BUSY uses the command timeout; SQLite's busy handler the pragma.
        builder.DefaultTimeout = (int)Math.Ceiling(busyTimeout.TotalSeconds);
        builder.Pooling = true;
        connectionString = builder.ToString();
        busyTimeoutPragma = "PRAGMA busy_timeout = " + ((long)busyTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + ";";
        Location = builder.DataSource;
    }

    public override string Provider => "sqlite";

    public override string Location { get; }

    public override IReadOnlyList<IReadOnlyList<string>> Migrations { get; } =
    [
        [
            """
            CREATE TABLE IF NOT EXISTS blog_tag (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL DEFAULT '',
                created_on INTEGER NOT NULL DEFAULT 0,
                created_by TEXT NOT NULL DEFAULT '',
                modified_on INTEGER NOT NULL DEFAULT 0,
                modified_by TEXT NOT NULL DEFAULT '',
                deleted_on INTEGER NOT NULL DEFAULT 0,
                state INTEGER NOT NULL DEFAULT 1)
            """,
            "CREATE UNIQUE INDEX IF NOT EXISTS blog_tag_live_name ON blog_tag (name) WHERE deleted_on = 0",
            """
            CREATE TABLE IF NOT EXISTS blog_article (
                id INTEGER PRIMARY KEY,
                tag_id INTEGER NOT NULL DEFAULT 0,
                title TEXT NOT NULL DEFAULT '',
                "desc" TEXT NOT NULL DEFAULT '',
                content TEXT NOT NULL DEFAULT '',
                cover_image_url TEXT NOT NULL DEFAULT '',
                created_on INTEGER NOT NULL DEFAULT 0,
                created_by TEXT NOT NULL DEFAULT '',
                modified_on INTEGER NOT NULL DEFAULT 0,
                modified_by TEXT NOT NULL DEFAULT '',
                deleted_on INTEGER NOT NULL DEFAULT 0,
                state INTEGER NOT NULL DEFAULT 1)
            """,
            "CREATE INDEX IF NOT EXISTS blog_article_tag ON blog_article (tag_id)",
            """
            CREATE TABLE IF NOT EXISTS blog_auth (
                id INTEGER PRIMARY KEY,
                username TEXT NOT NULL UNIQUE,
                password TEXT NOT NULL)
            """,
        ],
    ];

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            using var command = connection.CreateCommand();
            command.CommandText = busyTimeoutPragma;
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public override async Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // WAL is a property of the file: set once, it stays for every process that opens it.
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode = WAL;";
        var mode = (string?)await command.ExecuteScalarAsync(cancellationToken);
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"SQLite database '{Location}' could not be put in WAL mode (journal_mode is '{mode}').");
        }
    }

    // BEGIN IMMEDIATE: a deferred transaction that reads, then writes, can fail at once with SQLITE_BUSY when another
    // process writes in between, without waiting for the busy timeout.
    public override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    public override Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask; // The immediate transaction already holds the file's write lock.

    public override bool IsUniqueViolation(DbException exception) =>
        exception is SqliteException { SqliteErrorCode: SqliteConstraint } sqlite &&
        sqlite.SqliteExtendedErrorCode is SqliteConstraintUnique or SqliteConstraintPrimaryKey;
}
