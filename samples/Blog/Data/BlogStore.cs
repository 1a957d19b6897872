using System.Data.Common;
using System.Text;
using Blog.Api;
using Blog.Endpoints;

namespace Blog.Data;

/// <summary>
/// Tags, articles and users in plain SQL that SQLite and PostgreSQL both accept (named parameters, partial indexes,
/// <c>RETURNING</c>). Deletes are soft, as in the original: they set <c>deleted_on</c>, and every read skips such rows.
/// </summary>
internal sealed class BlogStore(BlogDatabase database, TimeProvider time)
{
    private const string TagColumns = "id, name, created_on, created_by, modified_on, modified_by, deleted_on, state";

    private const string ArticleSelect =
        """
        SELECT a.id, a.tag_id, a.title, a."desc", a.content, a.cover_image_url, a.created_on, a.created_by,
               a.modified_on, a.modified_by, a.deleted_on, a.state,
               t.id, t.name, t.created_on, t.created_by, t.modified_on, t.modified_by, t.deleted_on, t.state
        FROM blog_article a LEFT JOIN blog_tag t ON t.id = a.tag_id
        """;

    private long Now => time.GetUtcNow().ToUnixTimeSeconds();

    // ---- Tags ----

    public async Task<Page<Tag>> ListTagsAsync(TagQuery query, int pageSize, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var count = Sql.Command(connection, "");
        await using var list = Sql.Command(connection, "");
        var where = new Filter("deleted_on = 0", count, list)
            .And("name = @name", "@name", query.Name)
            .And("state = @state", "@state", query.State);

        count.CommandText = "SELECT COUNT(*) FROM blog_tag" + where;
        list.CommandText = $"SELECT {TagColumns} FROM blog_tag{where} ORDER BY id";
        return await ReadPageAsync(count, list, query.Page, pageSize, static r => ReadTag(r, 0)!, cancellationToken);
    }

    public async Task<Tag?> GetTagAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, $"SELECT {TagColumns} FROM blog_tag WHERE id = @id AND deleted_on = 0").With("@id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadTag(reader, 0) : null;
    }

    /// <summary>The new tag, or null when a tag that is not deleted already has the name.</summary>
    public async Task<Tag?> CreateTagAsync(TagCreate tag, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection,
                $"INSERT INTO blog_tag (name, created_on, created_by, state) VALUES (@name, @now, @by, @state) RETURNING {TagColumns}")
            .With("@name", tag.Name).With("@now", Now).With("@by", tag.CreatedBy).With("@state", tag.State);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? ReadTag(reader, 0) : null;
        }
        catch (DbException ex) when (database.IsUniqueViolation(ex))
        {
            return null;
        }
    }

    public async Task<(WriteOutcome Outcome, Tag? Tag)> UpdateTagAsync(long id, TagUpdate update, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "").With("@id", id).With("@now", Now).With("@by", update.ModifiedBy);
        var set = new StringBuilder("modified_on = @now, modified_by = @by");
        if (update.Name is not null)
        {
            set.Append(", name = @name");
            command.With("@name", update.Name);
        }

        if (update.State is { } state)
        {
            set.Append(", state = @state");
            command.With("@state", state);
        }

        command.CommandText = $"UPDATE blog_tag SET {set} WHERE id = @id AND deleted_on = 0 RETURNING {TagColumns}";
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? (WriteOutcome.Done, ReadTag(reader, 0)) : (WriteOutcome.NotFound, null);
        }
        catch (DbException ex) when (database.IsUniqueViolation(ex))
        {
            return (WriteOutcome.NameTaken, null);
        }
    }

    public Task<bool> DeleteTagAsync(long id, CancellationToken cancellationToken) => SoftDeleteAsync("blog_tag", id, cancellationToken);

    // ---- Articles ----

    public async Task<Page<Article>> ListArticlesAsync(ArticleQuery query, int pageSize, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var count = Sql.Command(connection, "");
        await using var list = Sql.Command(connection, "");
        var where = new Filter("a.deleted_on = 0", count, list)
            .And("a.state = @state", "@state", query.State)
            .And("a.tag_id = @tag_id", "@tag_id", query.TagId);

        count.CommandText = "SELECT COUNT(*) FROM blog_article a" + where;
        list.CommandText = $"{ArticleSelect}{where} ORDER BY a.id";
        return await ReadPageAsync(count, list, query.Page, pageSize, ReadArticle, cancellationToken);
    }

    public async Task<Article?> GetArticleAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await GetArticleAsync(connection, null, id, cancellationToken);
    }

    /// <summary>The new article, or null when its tag does not exist (checked in the same statement).</summary>
    public async Task<Article?> CreateArticleAsync(ArticleCreate article, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        long id;
        await using (var command = Sql.Command(connection,
                         """
                         INSERT INTO blog_article (tag_id, title, "desc", content, cover_image_url, created_on, created_by, state)
                         SELECT @tag_id, @title, @desc, @content, @cover, @now, @by, @state
                         WHERE EXISTS (SELECT 1 FROM blog_tag WHERE id = @tag_id AND deleted_on = 0)
                         RETURNING id
                         """)
                     .With("@tag_id", article.TagId).With("@title", article.Title).With("@desc", article.Desc)
                     .With("@content", article.Content).With("@cover", article.CoverImageUrl).With("@now", Now)
                     .With("@by", article.CreatedBy).With("@state", article.State))
        {
            var inserted = await command.ExecuteScalarAsync(cancellationToken);
            if (inserted is null or DBNull)
            {
                return null;
            }

            id = Convert.ToInt64(inserted, System.Globalization.CultureInfo.InvariantCulture);
        }

        return await GetArticleAsync(connection, null, id, cancellationToken);
    }

    public async Task<(WriteOutcome Outcome, Article? Article)> UpdateArticleAsync(long id, ArticleUpdate update, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await database.BeginWriteAsync(connection, cancellationToken);
        if (!await ExistsAsync(connection, transaction, "blog_article", id, cancellationToken))
        {
            return (WriteOutcome.NotFound, null);
        }

        if (update.TagId is { } tagId && !await ExistsAsync(connection, transaction, "blog_tag", tagId, cancellationToken))
        {
            return (WriteOutcome.TagNotFound, null);
        }

        await using (var command = Sql.Command(connection, "", transaction).With("@id", id).With("@now", Now).With("@by", update.ModifiedBy))
        {
            var set = new StringBuilder("modified_on = @now, modified_by = @by");
            Set(command, set, "tag_id", "@tag_id", update.TagId);
            Set(command, set, "title", "@title", update.Title);
            Set(command, set, "\"desc\"", "@desc", update.Desc);
            Set(command, set, "content", "@content", update.Content);
            Set(command, set, "cover_image_url", "@cover", update.CoverImageUrl);
            Set(command, set, "state", "@state", update.State);
            command.CommandText = $"UPDATE blog_article SET {set} WHERE id = @id AND deleted_on = 0";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var article = await GetArticleAsync(connection, transaction, id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (WriteOutcome.Done, article);
    }

    public Task<bool> DeleteArticleAsync(long id, CancellationToken cancellationToken) => SoftDeleteAsync("blog_article", id, cancellationToken);

    // ---- Users ----

    public async Task<User?> FindUserAsync(string username, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "SELECT id, username, password FROM blog_auth WHERE username = @username").With("@username", username);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new User(reader.GetInt64(0), reader.GetString(1), reader.GetString(2)) : null;
    }

    /// <summary>Creates the user unless one has the name; hashes only when needed (hashing is slow on purpose).</summary>
    public async Task<bool> EnsureUserAsync(string username, Func<string> hashPassword, CancellationToken cancellationToken)
    {
        if (await FindUserAsync(username, cancellationToken) is not null)
        {
            return false;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "INSERT INTO blog_auth (username, password) VALUES (@username, @password) ON CONFLICT (username) DO NOTHING")
            .With("@username", username).With("@password", hashPassword());
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Stores <paramref name="newHash"/> if the user's hash is still <paramref name="expectedHash"/>.</summary>
    public async Task<bool> ReplacePasswordHashAsync(long id, string expectedHash, string newHash, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, "UPDATE blog_auth SET password = @new WHERE id = @id AND password = @old")
            .With("@id", id).With("@old", expectedHash).With("@new", newHash);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    // ---- Helpers ----

    /// <summary>The total that <paramref name="count"/> finds, and the requested page of what <paramref name="list"/> selects.</summary>
    private static async Task<Page<T>> ReadPageAsync<T>(
        DbCommand count, DbCommand list, int page, int pageSize, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        list.CommandText += " LIMIT @limit OFFSET @offset";
        list.With("@limit", (long)pageSize).With("@offset", Paging.Offset(page, pageSize));
        var total = await count.ScalarInt64Async(cancellationToken);
        var items = new List<T>();
        await using var reader = await list.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(read(reader));
        }

        return new Page<T>(items, total);
    }

    private async Task<bool> SoftDeleteAsync(string table, long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Sql.Command(connection, $"UPDATE {table} SET deleted_on = @now WHERE id = @id AND deleted_on = 0")
            .With("@id", id).With("@now", Now);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static async Task<bool> ExistsAsync(DbConnection connection, DbTransaction transaction, string table, long id, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, $"SELECT COUNT(*) FROM {table} WHERE id = @id AND deleted_on = 0", transaction).With("@id", id);
        return await command.ScalarInt64Async(cancellationToken) > 0;
    }

    private static async Task<Article?> GetArticleAsync(DbConnection connection, DbTransaction? transaction, long id, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, ArticleSelect + " WHERE a.id = @id AND a.deleted_on = 0", transaction).With("@id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadArticle(reader) : null;
    }

    private static void Set(DbCommand command, StringBuilder set, string column, string parameter, object? value)
    {
        if (value is not null)
        {
            set.Append(", ").Append(column).Append(" = ").Append(parameter);
            command.With(parameter, value);
        }
    }

    /// <summary>A WHERE clause of the filters a query has, with their parameters on every command that uses it.</summary>
    private sealed class Filter(string always, params DbCommand[] commands)
    {
        private readonly StringBuilder where = new StringBuilder(" WHERE ").Append(always);

        public Filter And(string condition, string parameter, object? value)
        {
            if (value is not null)
            {
                where.Append(" AND ").Append(condition);
                foreach (var command in commands)
                {
                    command.With(parameter, value);
                }
            }

            return this;
        }

        public override string ToString() => where.ToString();
    }

    private static Tag? ReadTag(DbDataReader reader, int first) =>
        reader.IsDBNull(first)
            ? null
            : new Tag(
                reader.GetInt64(first),
                reader.GetString(first + 1),
                reader.GetInt64(first + 2),
                reader.GetString(first + 3),
                reader.GetInt64(first + 4),
                reader.GetString(first + 5),
                reader.GetInt64(first + 6),
                reader.GetInt32(first + 7));

    private static Article ReadArticle(DbDataReader reader) =>
        new(
            reader.GetInt64(0),
            reader.GetInt64(1),
            ReadTag(reader, 12),
            reader.GetString(2),
            reader.GetString(3),
            reader.GetString(4),
            reader.GetString(5),
            reader.GetInt64(6),
            reader.GetString(7),
            reader.GetInt64(8),
            reader.GetString(9),
            reader.GetInt64(10),
            reader.GetInt32(11));
}
