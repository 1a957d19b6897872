using System.Diagnostics;
using Blog.Auth;
using Blog.Options;
using Microsoft.Extensions.Options;

namespace Blog.Data;

/// <summary>
/// Creates or migrates the schema, and in Development seeds the demo user, before the server starts: it runs in the
/// host's <em>starting</em> phase, after the options are validated and before Kestrel (and so before Baton tells a
/// parent that this process is ready). A database that cannot be reached stops the start, and a handover with it.
/// </summary>
/// <remarks>
/// The demo user (test / test123, the original's) exists only in Development: outside it App:SeedDemoUser is ignored
/// with a warning rather than refused, so an old appsettings.json that still says true cannot fail a handover, and
/// still creates nothing. Real users are added with <c>Blog users add NAME</c>.
/// </remarks>
internal sealed class DatabaseInitializer(
    BlogDatabase database,
    BlogStore store,
    IOptions<AppOptions> app,
    IHostEnvironment environment,
    ILogger<DatabaseInitializer> logger) : IHostedLifecycleService
{
    public const string DemoUsername = "test";
    public const string DemoPassword = "test123";

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var (from, to) = await SchemaMigrator.MigrateAsync(database, cancellationToken);
        if (from != to)
        {
            BlogLog.SchemaMigrated(logger, database.Provider, database.Location, from, to);
        }

        if (to > database.Migrations.Count)
        {
            BlogLog.SchemaNewerThanBuild(logger, database.Provider, database.Location, to, database.Migrations.Count);
        }

        if (app.Value.SeedDemoUser)
        {
            if (!environment.IsDevelopment())
            {
                BlogLog.DemoUserNotSeeded(logger, environment.EnvironmentName);
            }
            else if (await store.EnsureUserAsync(DemoUsername, () => PasswordHasher.Hash(DemoPassword), cancellationToken))
            {
                BlogLog.DemoUserSeeded(logger, DemoUsername);
            }
        }

        BlogLog.DatabaseReady(logger, database.Provider, database.Location, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, Environment.ProcessId);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
