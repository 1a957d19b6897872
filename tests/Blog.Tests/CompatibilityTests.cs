using System.Globalization;
using System.Text.Json;
using Xunit;

namespace Blog.Tests;

/// <summary>A Blog with App:CompatibleWithOriginal: a client written for the original gin-blog.</summary>
public sealed class CompatibleBlogFixture : IAsyncLifetime
{
    internal BlogProcess Blog { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Blog = await BlogProcess.StartWithUserAsync(new Dictionary<string, string?>
        {
            ["App__CompatibleWithOriginal"] = "true",
            ["App__AuthRateLimit__PermitLimit"] = "1000",
        });

    public async Task DisposeAsync() => await Blog.DisposeAsync();
}

public sealed class CompatibilityTests(CompatibleBlogFixture fixture) : IClassFixture<CompatibleBlogFixture>
{
    private BlogProcess Blog => fixture.Blog;

    [Fact]
    public async Task Auth_is_also_a_get_with_query_parameters_as_the_original()
    {
        var (status, json) = await SendAsync(HttpMethod.Get, "/auth", null, ("username", BlogProcess.Username), ("password", BlogProcess.Password));
        Assert.Equal((200, 200), (status, json.GetProperty("code").GetInt32()));
        var token = json.GetProperty("data").GetProperty("token").GetString()!;
        Assert.Equal(200, (await SendAsync(HttpMethod.Get, "/api/v1/tags", token)).Status);

        (status, json) = await SendAsync(HttpMethod.Get, "/auth", null, ("username", BlogProcess.Username), ("password", "wrong"));
        Assert.Equal((401, 20004), (status, json.GetProperty("code").GetInt32()));
        (status, json) = await SendAsync(HttpMethod.Get, "/auth", null, ("username", BlogProcess.Username));
        Assert.Equal((400, 400), (status, json.GetProperty("code").GetInt32()));
    }

    [Fact]
    public async Task Write_endpoints_take_their_fields_from_the_query_string_as_the_original()
    {
        var token = await Blog.TokenAsync();
        var (status, json) = await SendAsync(HttpMethod.Post, "/api/v1/tags", token, ("name", "query-tag"), ("state", "1"), ("created_by", "gin"));
        Assert.Equal((200, 200), (status, json.GetProperty("code").GetInt32()));
        var tag = json.GetProperty("data");
        Assert.Equal(("query-tag", 1, "gin"), (tag.GetProperty("name").GetString(), tag.GetProperty("state").GetInt32(), tag.GetProperty("created_by").GetString()));
        var tagId = tag.GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture);

        (status, json) = await SendAsync(HttpMethod.Put, $"/api/v1/tags/{tagId}", token, ("name", "query-tag-2"), ("modified_by", "gin2"), ("state", "0"));
        Assert.Equal(200, status);
        Assert.Equal(("query-tag-2", 0, "gin2"), (json.GetProperty("data").GetProperty("name").GetString(), json.GetProperty("data").GetProperty("state").GetInt32(), json.GetProperty("data").GetProperty("modified_by").GetString()));

        (status, json) = await SendAsync(HttpMethod.Post, "/api/v1/articles", token,
            ("tag_id", tagId), ("title", "From the query"), ("desc", "d"), ("content", "c"), ("created_by", "gin"), ("state", "1"));
        Assert.Equal((200, 200), (status, json.GetProperty("code").GetInt32()));
        var articleId = json.GetProperty("data").GetProperty("id").GetInt64().ToString(CultureInfo.InvariantCulture);

        (status, json) = await SendAsync(HttpMethod.Put, $"/api/v1/articles/{articleId}", token, ("title", "Edited in the query"), ("modified_by", "gin2"));
        Assert.Equal(200, status);
        Assert.Equal(("Edited in the query", "c"), (json.GetProperty("data").GetProperty("title").GetString(), json.GetProperty("data").GetProperty("content").GetString()));

        (status, json) = await SendAsync(HttpMethod.Get, "/api/v1/articles", token, ("tag_id", tagId), ("state", "1"));
        Assert.Equal(1, json.GetProperty("data").GetProperty("total").GetInt64());
        Assert.Equal(200, (await SendAsync(HttpMethod.Delete, $"/api/v1/articles/{articleId}", token)).Status);
        Assert.Equal(200, (await SendAsync(HttpMethod.Delete, $"/api/v1/tags/{tagId}", token)).Status);
    }

    [Fact]
    public async Task A_field_in_the_body_wins_over_the_same_field_in_the_query()
    {
        var token = await Blog.TokenAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tags?name=from-query&created_by=query&token=" + Uri.EscapeDataString(token))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "from-body" }),
        };
        using var response = await Blog.Client.SendAsync(request);
        var (status, json) = await BlogProcess.ReadAsync(response);
        Assert.Equal(200, status);
        Assert.Equal(("from-body", "query"), (json.GetProperty("data").GetProperty("name").GetString(), json.GetProperty("data").GetProperty("created_by").GetString()));
    }

    [Fact]
    public async Task A_missing_token_is_still_401_code_400()
    {
        var (status, json) = await SendAsync(HttpMethod.Post, "/api/v1/tags", null, ("name", "no-token"), ("created_by", "gin"));
        Assert.Equal((401, 400), (status, json.GetProperty("code").GetInt32()));
    }

    /// <summary>A request as the original's clients send it: everything, the token too, in the query string, no body.</summary>
    private async Task<(int Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? token, params (string Name, string Value)[] query)
    {
        var fields = token is null ? query : [.. query, ("token", token)];
        var uri = path + (fields.Length == 0 ? "" : "?" + string.Join('&', fields.Select(f => $"{Uri.EscapeDataString(f.Name)}={Uri.EscapeDataString(f.Value)}")));
        using var request = new HttpRequestMessage(method, uri);
        using var response = await Blog.Client.SendAsync(request);
        return await BlogProcess.ReadAsync(response);
    }
}
