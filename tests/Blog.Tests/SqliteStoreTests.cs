using Blog.Data;
using Blog.Endpoints;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Blog.Tests;

/// <summary>The data layer against a real SQLite file (a fresh one per test).</summary>
public sealed class SqliteStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    private readonly string directory = Directory.CreateTempSubdirectory("blog-store-").FullName;
    private readonly ManualTimeProvider clock = new(Now);
    private SqliteDatabase database = null!;
    private BlogStore store = null!;

    public async Task InitializeAsync()
    {
        database = NewDatabase();
        await SchemaMigrator.MigrateAsync(database, default);
        store = new BlogStore(database, clock);
    }

    public async Task DisposeAsync()
    {
        await database.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task The_database_file_is_created_under_the_content_root_in_wal_mode()
    {
        Assert.Equal(Path.Combine(directory, "data", "blog.db"), database.Location);
        Assert.True(File.Exists(database.Location));
        await using var connection = await database.OpenAsync(default);
        await using var command = Sql.Command(connection, "PRAGMA journal_mode");
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Migrating_again_changes_nothing()
    {
        Assert.Equal((1, 1), await SchemaMigrator.MigrateAsync(database, default));
    }

    [Fact]
    public async Task A_schema_newer_than_this_build_is_served_as_it_is_for_a_rollback()
    {
        // A newer build expanded the schema (a new table, its version recorded), then was rolled back.
        await using (var connection = await database.OpenAsync(default))
        {
            await using var expand = Sql.Command(connection, "CREATE TABLE blog_newer (id INTEGER PRIMARY KEY); INSERT INTO blog_schema (version) VALUES (2)");
            await expand.ExecuteNonQueryAsync();
        }

        Assert.Equal((2, 2), await SchemaMigrator.MigrateAsync(database, default));
        Assert.NotNull(await store.CreateTagAsync(new TagCreate("after-rollback", "me", 1), default));
    }

    [Fact]
    public async Task Two_processes_migrating_one_new_file_at_once_both_succeed()
    {
        var file = Path.Combine(directory, "twice", "blog.db");
        await using var first = new SqliteDatabase($"Data Source={file}", directory, TimeSpan.FromSeconds(10));
        await using var second = new SqliteDatabase($"Data Source={file};Pooling=False", directory, TimeSpan.FromSeconds(10));
        var results = await Task.WhenAll(
            Task.Run(() => SchemaMigrator.MigrateAsync(first, default)),
            Task.Run(() => SchemaMigrator.MigrateAsync(second, default)));
        Assert.Equal(1, results.Count(r => r == (0, 1)));
        Assert.Equal(1, results.Count(r => r == (1, 1)));
    }

    [Fact]
    public async Task A_tag_is_created_with_its_author_time_and_state()
    {
        var tag = await store.CreateTagAsync(new TagCreate("go", "me", 1), default);
        Assert.NotNull(tag);
        Assert.Equal(new Tag(tag.Id, "go", Now.ToUnixTimeSeconds(), "me", 0, "", 0, 1), tag);
        Assert.Equal(tag, await store.GetTagAsync(tag.Id, default));
    }

    [Fact]
    public async Task A_duplicate_tag_name_is_refused_until_the_first_is_deleted()
    {
        var first = await store.CreateTagAsync(new TagCreate("go", "me", 1), default);
        Assert.Null(await store.CreateTagAsync(new TagCreate("go", "you", 0), default));
        Assert.True(await store.DeleteTagAsync(first!.Id, default));
        Assert.NotNull(await store.CreateTagAsync(new TagCreate("go", "you", 0), default));
    }

    [Fact]
    public async Task Tags_are_listed_by_filter_one_page_at_a_time_with_the_total()
    {
        for (var i = 1; i <= 12; i++)
        {
            await store.CreateTagAsync(new TagCreate($"t{i:D2}", "me", i % 2), default);
        }

        var first = await store.ListTagsAsync(new TagQuery(null, null, 1), 5, default);
        Assert.Equal(12, first.Total);
        Assert.Equal(["t01", "t02", "t03", "t04", "t05"], first.Lists.Select(t => t.Name));
        var last = await store.ListTagsAsync(new TagQuery(null, null, 3), 5, default);
        Assert.Equal(["t11", "t12"], last.Lists.Select(t => t.Name));
        Assert.Empty((await store.ListTagsAsync(new TagQuery(null, null, 4), 5, default)).Lists);

        var odd = await store.ListTagsAsync(new TagQuery(null, 1, 1), 100, default);
        Assert.Equal(6, odd.Total);
        Assert.All(odd.Lists, t => Assert.Equal(1, t.State));

        var byName = await store.ListTagsAsync(new TagQuery("t07", null, 1), 100, default);
        Assert.Equal("t07", Assert.Single(byName.Lists).Name);
    }

    [Fact]
    public async Task An_update_changes_only_what_it_names_and_stamps_who_and_when()
    {
        var tag = await store.CreateTagAsync(new TagCreate("go", "me", 0), default);
        clock.Now = Now.AddMinutes(1);
        var (outcome, updated) = await store.UpdateTagAsync(tag!.Id, new TagUpdate(null, "you", 1), default);
        Assert.Equal(WriteOutcome.Done, outcome);
        Assert.Equal(tag with { State = 1, ModifiedBy = "you", ModifiedOn = Now.AddMinutes(1).ToUnixTimeSeconds() }, updated);
    }

    [Fact]
    public async Task Renaming_a_tag_to_a_taken_name_or_updating_a_missing_one_is_reported()
    {
        await store.CreateTagAsync(new TagCreate("go", "me", 0), default);
        var rust = await store.CreateTagAsync(new TagCreate("rust", "me", 0), default);
        Assert.Equal(WriteOutcome.NameTaken, (await store.UpdateTagAsync(rust!.Id, new TagUpdate("go", "me", null), default)).Outcome);
        Assert.Equal(WriteOutcome.NotFound, (await store.UpdateTagAsync(999, new TagUpdate("x", "me", null), default)).Outcome);
    }

    [Fact]
    public async Task A_deleted_tag_is_kept_with_deleted_on_but_hidden_from_reads()
    {
        var tag = await store.CreateTagAsync(new TagCreate("go", "me", 0), default);
        clock.Now = Now.AddHours(1);
        Assert.True(await store.DeleteTagAsync(tag!.Id, default));
        Assert.False(await store.DeleteTagAsync(tag.Id, default));
        Assert.Null(await store.GetTagAsync(tag.Id, default));
        Assert.Equal(0, (await store.ListTagsAsync(new TagQuery(null, null, 1), 10, default)).Total);

        await using var connection = await database.OpenAsync(default);
        await using var command = Sql.Command(connection, "SELECT deleted_on FROM blog_tag WHERE id = @id").With("@id", tag.Id);
        Assert.Equal(Now.AddHours(1).ToUnixTimeSeconds(), await command.ScalarInt64Async(default));
    }

    [Fact]
    public async Task An_article_needs_a_live_tag_and_carries_it()
    {
        Assert.Null(await store.CreateArticleAsync(new ArticleCreate(42, "T", "D", "C", "me", "", 1), default));

        var tag = await store.CreateTagAsync(new TagCreate("go", "me", 1), default);
        var article = await store.CreateArticleAsync(new ArticleCreate(tag!.Id, "T", "D", "C", "me", "http://x/y.png", 1), default);
        Assert.NotNull(article);
        Assert.Equal(tag, article.Tag);
        Assert.Equal(("T", "D", "C", "http://x/y.png", "me"), (article.Title, article.Desc, article.Content, article.CoverImageUrl, article.CreatedBy));
        Assert.Equal(article, await store.GetArticleAsync(article.Id, default));

        await store.DeleteTagAsync(tag.Id, default);
        Assert.Null(await store.CreateArticleAsync(new ArticleCreate(tag.Id, "T2", "D", "C", "me", "", 1), default));
    }

    [Fact]
    public async Task Articles_are_listed_by_state_and_tag()
    {
        var go = await store.CreateTagAsync(new TagCreate("go", "me", 1), default);
        var rust = await store.CreateTagAsync(new TagCreate("rust", "me", 1), default);
        await store.CreateArticleAsync(new ArticleCreate(go!.Id, "a", "d", "c", "me", "", 1), default);
        await store.CreateArticleAsync(new ArticleCreate(go.Id, "b", "d", "c", "me", "", 0), default);
        await store.CreateArticleAsync(new ArticleCreate(rust!.Id, "c", "d", "c", "me", "", 1), default);

        var byTag = await store.ListArticlesAsync(new ArticleQuery(null, go.Id, 1), 10, default);
        Assert.Equal(["a", "b"], byTag.Lists.Select(a => a.Title));
        Assert.All(byTag.Lists, a => Assert.Equal("go", a.Tag!.Name));
        var enabled = await store.ListArticlesAsync(new ArticleQuery(1, null, 1), 10, default);
        Assert.Equal(["a", "c"], enabled.Lists.Select(a => a.Title));
        Assert.Equal(2, enabled.Total);
    }

    [Fact]
    public async Task An_article_update_reports_a_missing_article_before_a_missing_tag()
    {
        var tag = await store.CreateTagAsync(new TagCreate("go", "me", 1), default);
        var article = await store.CreateArticleAsync(new ArticleCreate(tag!.Id, "T", "D", "C", "me", "", 1), default);

        Assert.Equal(WriteOutcome.NotFound, (await store.UpdateArticleAsync(999, new ArticleUpdate(999, null, null, null, "me", null, null), default)).Outcome);
        Assert.Equal(WriteOutcome.TagNotFound, (await store.UpdateArticleAsync(article!.Id, new ArticleUpdate(999, null, null, null, "me", null, null), default)).Outcome);

        var rust = await store.CreateTagAsync(new TagCreate("rust", "me", 1), default);
        var (outcome, updated) = await store.UpdateArticleAsync(article.Id, new ArticleUpdate(rust!.Id, "T2", null, null, "you", null, 0), default);
        Assert.Equal(WriteOutcome.Done, outcome);
        Assert.Equal(("T2", "D", 0, "you", "rust"), (updated!.Title, updated.Desc, updated.State, updated.ModifiedBy, updated.Tag!.Name));
    }

    [Fact]
    public async Task The_demo_user_is_seeded_once_with_a_hash()
    {
        var hashes = 0;
        Assert.True(await store.EnsureUserAsync("test", () => { hashes++; return Auth.PasswordHasher.Hash("test123", 1000); }, default));
        Assert.False(await store.EnsureUserAsync("test", () => { hashes++; return "unused"; }, default));
        Assert.Equal(1, hashes);
        var user = await store.FindUserAsync("test", default);
        Assert.True(Auth.PasswordHasher.Verify("test123", user!.PasswordHash));
        Assert.Null(await store.FindUserAsync("nobody", default));
    }

    [Fact]
    public async Task Two_processes_writing_at_once_never_see_database_is_locked()
    {
        // A second pool with its own connections stands in for the other process of a handover.
        await using var other = new SqliteDatabase($"Data Source={database.Location};Pooling=False", directory, TimeSpan.FromSeconds(30));
        var otherStore = new BlogStore(other, clock);
        const int PerWriter = 150;
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var target = w % 2 == 0 ? store : otherStore;
            for (var i = 0; i < PerWriter; i++)
            {
                Assert.NotNull(await target.CreateTagAsync(new TagCreate($"w{w}-{i}", "me", 1), default));
            }
        }));
        await Task.WhenAll(writers);
        Assert.Equal(4 * PerWriter, (await store.ListTagsAsync(new TagQuery(null, null, 1), 1, default)).Total);
    }

    private SqliteDatabase NewDatabase() => new("", directory, TimeSpan.FromSeconds(10));
}
