namespace Blog;

/// <summary>Every line the Blog itself logs, one event id per step.</summary>
internal static partial class BlogLog
{
    [LoggerMessage(1, LogLevel.Information, "Database ready: {Provider} at {Location} in {ElapsedMs} ms (process {Pid})")]
    public static partial void DatabaseReady(ILogger logger, string provider, string location, long elapsedMs, int pid);

    [LoggerMessage(2, LogLevel.Information, "Schema of {Provider} database at {Location} migrated from version {From} to {To}")]
    public static partial void SchemaMigrated(ILogger logger, string provider, string location, int from, int to);

    [LoggerMessage(10, LogLevel.Warning, "Schema of {Provider} database at {Location} is version {Version}, newer than this build's {Latest}: serving on it (a rollback; the newer migrations must be backward compatible)")]
    public static partial void SchemaNewerThanBuild(ILogger logger, string provider, string location, int version, int latest);

    [LoggerMessage(3, LogLevel.Information, "Demo user '{Username}' created")]
    public static partial void DemoUserSeeded(ILogger logger, string username);

    [LoggerMessage(9, LogLevel.Warning, "App:SeedDemoUser is ignored in the {Environment} environment: the demo user test / test123 exists in Development only. Add users with `Blog users add NAME`")]
    public static partial void DemoUserNotSeeded(ILogger logger, string environment);

    [LoggerMessage(4, LogLevel.Information, "Token issued to '{Username}'")]
    public static partial void TokenIssued(ILogger logger, string username);

    [LoggerMessage(5, LogLevel.Warning, "Login refused for '{Username}'")]
    public static partial void LoginRefused(ILogger logger, string username);

    [LoggerMessage(6, LogLevel.Debug, "Token refused on {Path}: {Reason}")]
    public static partial void TokenRefused(ILogger logger, string path, string reason);

    [LoggerMessage(7, LogLevel.Information, "Password hash of '{Username}' upgraded from {From} to {To} PBKDF2 iterations")]
    public static partial void PasswordHashUpgraded(ILogger logger, string username, int from, int to);

    [LoggerMessage(8, LogLevel.Warning, "Password hash of '{Username}' could not be upgraded (tried again on the next login): {Message}")]
    public static partial void PasswordHashUpgradeFailed(ILogger logger, string username, string message);
}
