namespace Blog.Options;

/// <summary>Where the blog keeps its data, bound from the <c>Database</c> section.</summary>
internal sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    /// <summary><c>sqlite</c> (embedded, the default) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>
    /// The provider's connection string. For SQLite a relative <c>Data Source</c> is resolved against the content
    /// root; empty means <c>Data Source=data/blog.db</c>. Required for PostgreSQL.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>How long a SQLite write waits for another process's write lock before it fails. Default 30 s.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool IsPostgres => string.Equals(Provider, Postgres, StringComparison.OrdinalIgnoreCase);
}
