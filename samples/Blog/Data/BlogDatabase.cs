using System.Data.Common;

namespace Blog.Data;

/// <summary>
/// The provider seam: how to open a connection, start a write, lay out the schema and recognise a duplicate key.
/// Everything else (<see cref="BlogStore"/>, <see cref="SchemaMigrator"/>) is plain ADO.NET shared by both providers.
/// </summary>
internal abstract class BlogDatabase : IAsyncDisposable
{
    /// <summary><c>sqlite</c> or <c>postgres</c>.</summary>
    public abstract string Provider { get; }

    /// <summary>Where the data is, for logs (never a password).</summary>
    public abstract string Location { get; }

    /// <summary>The schema, one entry per version; each is a list of idempotent statements.</summary>
    public abstract IReadOnlyList<IReadOnlyList<string>> Migrations { get; }

    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Starts a transaction that may write, taking the write lock now rather than on its first write.</summary>
    public abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Run first in the schema transaction: keeps two processes that start together from migrating at once.</summary>
    public abstract Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Run once per process before the schema transaction (SQLite's journal mode cannot change inside one).</summary>
    public virtual Task PrepareAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    public abstract bool IsUniqueViolation(DbException exception);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
