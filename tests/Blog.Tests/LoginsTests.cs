using Blog.Auth;
using Blog.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Blog.Tests;

/// <summary>Logins against a real SQLite file: the check, and the upgrade of old hashes.</summary>
public sealed class LoginsTests : IAsyncLifetime
{
    private const int OldIterations = 100_000;

    private readonly string directory = Directory.CreateTempSubdirectory("blog-logins-").FullName;
    private SqliteDatabase database = null!;
    private BlogStore store = null!;
    private Logins logins = null!;

    public async Task InitializeAsync()
    {
        database = new SqliteDatabase("", directory, TimeSpan.FromSeconds(10));
        await SchemaMigrator.MigrateAsync(database, default);
        store = new BlogStore(database, TimeProvider.System);
        logins = new Logins(store, NullLogger<Logins>.Instance);
    }

    public async Task DisposeAsync()
    {
        await database.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task A_login_with_an_old_hash_stores_a_new_one_with_the_current_work_factor()
    {
        Assert.True(await store.EnsureUserAsync("old", () => PasswordHasher.Hash("old password", OldIterations), default));

        Assert.Equal("old", await logins.CheckAsync("old", "old password", default));

        // Read back from the file by another connection (no pool): the upgrade is stored, not just cached.
        var stored = await ReadHashFromFileAsync("old");
        Assert.StartsWith($"pbkdf2-sha256${PasswordHasher.DefaultIterations}$", stored, StringComparison.Ordinal);
        Assert.True(PasswordHasher.Verify("old password", stored));
        Assert.False(PasswordHasher.NeedsRehash(stored, out _));

        // The next login verifies the new hash and leaves it as it is.
        Assert.Equal("old", await logins.CheckAsync("old", "old password", default));
        Assert.Equal(stored, await ReadHashFromFileAsync("old"));
    }

    [Fact]
    public async Task A_wrong_password_or_unknown_user_is_refused_and_changes_nothing()
    {
        var oldHash = PasswordHasher.Hash("old password", OldIterations);
        Assert.True(await store.EnsureUserAsync("old", () => oldHash, default));

        Assert.Null(await logins.CheckAsync("old", "wrong", default));
        Assert.Null(await logins.CheckAsync("nobody", "old password", default));
        Assert.Equal(oldHash, await ReadHashFromFileAsync("old"));
    }

    [Fact]
    public async Task An_upgrade_never_overwrites_a_hash_that_changed_since_it_was_read()
    {
        var oldHash = PasswordHasher.Hash("old password", OldIterations);
        Assert.True(await store.EnsureUserAsync("old", () => oldHash, default));
        var user = await store.FindUserAsync("old", default);
        var changed = PasswordHasher.Hash("changed meanwhile", 1000);
        Assert.True(await store.ReplacePasswordHashAsync(user!.Id, oldHash, changed, default));

        Assert.False(await store.ReplacePasswordHashAsync(user.Id, oldHash, PasswordHasher.Hash("old password"), default));
        Assert.Equal(changed, await ReadHashFromFileAsync("old"));
    }

    private Task<string> ReadHashFromFileAsync(string username) => BlogDatabaseFile.ReadHashAsync(directory, username);
}
