using System.Net.Sockets;
using System.Text;
using Blog.Auth;
using Xunit;

namespace Blog.Tests;

/// <summary>One Blog process for the class: the API over real HTTP.</summary>
public sealed class BlogServerFixture : IAsyncLifetime
{
    internal BlogProcess Blog { get; private set; } = null!;

    internal string Token { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // These tests log in more often than the shipped limit allows a client per minute.
        Blog = await BlogProcess.StartWithUserAsync(new Dictionary<string, string?> { ["App__AuthRateLimit__PermitLimit"] = "1000" });
        Token = await Blog.TokenAsync();
    }

    public async Task DisposeAsync() => await Blog.DisposeAsync();
}

public sealed class BlogHttpTests(BlogServerFixture fixture) : IClassFixture<BlogServerFixture>
{
    private BlogProcess Blog => fixture.Blog;

    private string Token => fixture.Token;

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Tags_are_created_by_form_or_json_listed_edited_and_deleted()
    {
        var (status, created) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/tags", Token, Form(("name", "form-tag"), ("created_by", "me"), ("state", "1")));
        Assert.Equal(200, status);
        Assert.Equal(200, created.GetProperty("code").GetInt32());
        var id = created.GetProperty("data").GetProperty("id").GetInt64();

        (status, var json) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/tags", Token, Json("""{"name":"json-tag","created_by":"me","state":1}"""));
        Assert.Equal(200, status);
        Assert.Equal("json-tag", json.GetProperty("data").GetProperty("name").GetString());

        (status, json) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/tags", Token, Json("""{"name":"form-tag","created_by":"you"}"""));
        Assert.Equal((409, 10001), (status, json.GetProperty("code").GetInt32()));

        (status, json) = await Blog.SendAsync(HttpMethod.Get, "/api/v1/tags?name=form-tag&state=1", Token);
        Assert.Equal(200, status);
        Assert.Equal(1, json.GetProperty("data").GetProperty("total").GetInt64());
        Assert.Equal(id, json.GetProperty("data").GetProperty("lists")[0].GetProperty("id").GetInt64());

        (status, json) = await Blog.SendAsync(HttpMethod.Put, $"/api/v1/tags/{id}", Token, Form(("name", "form-tag-2"), ("modified_by", "you")));
        Assert.Equal(200, status);
        Assert.Equal(("form-tag-2", "you"), (json.GetProperty("data").GetProperty("name").GetString(), json.GetProperty("data").GetProperty("modified_by").GetString()));

        (status, json) = await Blog.SendAsync(HttpMethod.Put, $"/api/v1/tags/{id}", Token, Json("""{"name":"json-tag","modified_by":"you"}"""));
        Assert.Equal((409, 10001), (status, json.GetProperty("code").GetInt32()));

        (status, _) = await Blog.SendAsync(HttpMethod.Delete, $"/api/v1/tags/{id}", Token);
        Assert.Equal(200, status);
        (status, json) = await Blog.SendAsync(HttpMethod.Delete, $"/api/v1/tags/{id}", Token);
        Assert.Equal((404, 10002), (status, json.GetProperty("code").GetInt32()));
        (status, json) = await Blog.SendAsync(HttpMethod.Put, $"/api/v1/tags/{id}", Token, Form(("modified_by", "you")));
        Assert.Equal((404, 10002), (status, json.GetProperty("code").GetInt32()));
    }

    [Fact]
    public async Task Articles_need_an_existing_tag_carry_it_and_are_soft_deleted()
    {
        var (status, json) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/articles", Token,
            Form(("tag_id", "987654"), ("title", "T"), ("desc", "D"), ("content", "C"), ("created_by", "me")));
        Assert.Equal((404, 10002), (status, json.GetProperty("code").GetInt32()));

        (_, json) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/tags", Token, Form(("name", "article-tag"), ("created_by", "me")));
        var tagId = json.GetProperty("data").GetProperty("id").GetInt64();
        (status, json) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/articles", Token,
            Json($$"""{"tag_id":{{tagId}},"title":"Hello","desc":"D","content":"Body","created_by":"me","cover_image_url":"http://img/1.png","state":1}"""));
        Assert.Equal(200, status);
        var id = json.GetProperty("data").GetProperty("id").GetInt64();
        Assert.Equal("article-tag", json.GetProperty("data").GetProperty("tag").GetProperty("name").GetString());

        (status, json) = await Blog.SendAsync(HttpMethod.Get, $"/api/v1/articles/{id}", Token);
        Assert.Equal(200, status);
        Assert.Equal("http://img/1.png", json.GetProperty("data").GetProperty("cover_image_url").GetString());

        (status, json) = await Blog.SendAsync(HttpMethod.Get, $"/api/v1/articles?tag_id={tagId}&state=1", Token);
        Assert.Equal(1, json.GetProperty("data").GetProperty("total").GetInt64());

        (status, json) = await Blog.SendAsync(HttpMethod.Put, $"/api/v1/articles/{id}", Token, Form(("title", "Hello 2"), ("modified_by", "you")));
        Assert.Equal(200, status);
        Assert.Equal(("Hello 2", "Body"), (json.GetProperty("data").GetProperty("title").GetString(), json.GetProperty("data").GetProperty("content").GetString()));

        (status, json) = await Blog.SendAsync(HttpMethod.Put, $"/api/v1/articles/{id}", Token, Form(("tag_id", "987654"), ("modified_by", "you")));
        Assert.Equal((404, 10002), (status, json.GetProperty("code").GetInt32()));

        (status, _) = await Blog.SendAsync(HttpMethod.Delete, $"/api/v1/articles/{id}", Token);
        Assert.Equal(200, status);
        (status, json) = await Blog.SendAsync(HttpMethod.Get, $"/api/v1/articles/{id}", Token);
        Assert.Equal((404, 10003), (status, json.GetProperty("code").GetInt32()));
        (status, json) = await Blog.SendAsync(HttpMethod.Put, $"/api/v1/articles/{id}", Token, Form(("modified_by", "you")));
        Assert.Equal((404, 10003), (status, json.GetProperty("code").GetInt32()));
    }

    [Theory]
    [InlineData("/api/v1/tags/abc")]
    [InlineData("/api/v1/articles/0")]
    [InlineData("/api/v1/articles?page=x")]
    [InlineData("/api/v1/tags?state=3")]
    public async Task Bad_ids_and_filters_are_400_with_the_field_named(string path)
    {
        var method = path.StartsWith("/api/v1/tags/", StringComparison.Ordinal) ? HttpMethod.Delete : HttpMethod.Get;
        var (status, json) = await Blog.SendAsync(method, path, Token);
        Assert.Equal((400, 400), (status, json.GetProperty("code").GetInt32()));
        Assert.Single(json.GetProperty("data").GetProperty("errors").EnumerateObject());
    }

    [Fact]
    public async Task Missing_fields_are_400_listing_each_field()
    {
        var (status, json) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/articles", Token, Form(("title", "only a title")));
        Assert.Equal(400, status);
        var errors = json.GetProperty("data").GetProperty("errors").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);
        Assert.Equal(["content", "created_by", "desc", "tag_id"], errors);
    }

    [Fact]
    public async Task Malformed_json_is_400_with_the_envelope_not_an_exception_page()
    {
        var (status, json) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/tags", Token, Json("""{"name": "x", """));
        Assert.Equal((400, 400), (status, json.GetProperty("code").GetInt32()));
        Assert.StartsWith("malformed JSON", json.GetProperty("data").GetProperty("errors").GetProperty("body").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/v1/tags")]
    [InlineData("/api/v1/tags?token=")]
    public async Task A_request_without_a_token_is_401_code_400_as_the_original(string path)
    {
        var (status, json) = await Blog.SendAsync(HttpMethod.Get, path);
        Assert.Equal((401, 400), (status, json.GetProperty("code").GetInt32()));
        Assert.True(json.GetProperty("data").GetProperty("errors").TryGetProperty("token", out _), json.ToString());
    }

    [Fact]
    public async Task A_page_below_one_is_the_first_page()
    {
        // More than a page (App:PageSize is 10) of both, so the first page differs from the second.
        var run = Guid.NewGuid().ToString("N")[..8];
        long tagId = 0;
        for (var i = 0; i < 11; i++)
        {
            var (_, tag) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/tags", Token, Form(("name", $"paging-{run}-{i}"), ("created_by", "me")));
            tagId = tag.GetProperty("data").GetProperty("id").GetInt64();
        }

        for (var i = 0; i < 11; i++)
        {
            var (status, _) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/articles", Token,
                Form(("tag_id", tagId.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("title", $"a{i}"), ("desc", "d"), ("content", "c"), ("created_by", "me")));
            Assert.Equal(200, status);
        }

        foreach (var list in (string[])["tags", "articles"])
        {
            var first = await PageAsync(list, "1");
            Assert.Equal(10, first.GetProperty("lists").GetArrayLength());
            Assert.NotEqual(first.ToString(), (await PageAsync(list, "2")).ToString());
            Assert.Equal(first.ToString(), (await PageAsync(list, "0")).ToString());
            Assert.Equal(first.ToString(), (await PageAsync(list, "-3")).ToString());
        }

        async Task<System.Text.Json.JsonElement> PageAsync(string list, string page)
        {
            var (status, json) = await Blog.SendAsync(HttpMethod.Get, $"/api/v1/{list}?page={page}", Token);
            Assert.True((status, json.GetProperty("code").GetInt32()) == (200, 200), $"{list} page {page}: {status} {json}");
            return json.GetProperty("data");
        }
    }

    [Fact]
    public async Task A_bad_token_is_401_code_20001_and_an_expired_one_401_code_20002()
    {
        var (status, json) = await Blog.SendAsync(HttpMethod.Get, "/api/v1/tags", "not.a.token");
        Assert.Equal((401, 20001), (status, json.GetProperty("code").GetInt32()));

        // Signed with the server's secret, issued four hours ago: only the expiry is wrong.
        var fourHoursAgo = new ManualTimeProvider(DateTimeOffset.UtcNow.AddHours(-4));
        var expired = new JwtTokens(BlogProcess.Secret, TimeSpan.FromHours(3), fourHoursAgo).Issue("test");
        (status, json) = await Blog.SendAsync(HttpMethod.Get, "/api/v1/tags", expired);
        Assert.Equal((401, 20002), (status, json.GetProperty("code").GetInt32()));
        Assert.Equal("token expired", json.GetProperty("msg").GetString());

        var otherSecret = new JwtTokens("some-other-secret-0123456789abcdef0123456789", TimeSpan.FromHours(3), TimeProvider.System).Issue("test");
        (status, json) = await Blog.SendAsync(HttpMethod.Get, "/api/v1/tags", otherSecret);
        Assert.Equal((401, 20001), (status, json.GetProperty("code").GetInt32()));
    }

    [Fact]
    public async Task The_token_also_works_as_the_original_query_parameter()
    {
        var (status, json) = await Blog.SendAsync(HttpMethod.Get, "/api/v1/tags?token=" + Uri.EscapeDataString(Token));
        Assert.Equal((200, 200), (status, json.GetProperty("code").GetInt32()));
    }

    [Theory]
    [InlineData(BlogProcess.Username, "wrong")]
    [InlineData("nobody", BlogProcess.Password)]
    [InlineData("test", "test123")]
    public async Task Wrong_credentials_are_401_code_20004(string username, string password)
    {
        var (status, json) = await Blog.SendAsync(HttpMethod.Post, "/auth", content: Json($$"""{"username":"{{username}}","password":"{{password}}"}"""));
        Assert.Equal((401, 20004), (status, json.GetProperty("code").GetInt32()));
    }

    [Fact]
    public async Task Auth_takes_json_as_well_as_a_form()
    {
        var (status, json) = await Blog.SendAsync(HttpMethod.Post, "/auth", content: Json($$"""{"username":"{{BlogProcess.Username}}","password":"{{BlogProcess.Password}}"}"""));
        Assert.Equal(200, status);
        Assert.Equal(3, json.GetProperty("data").GetProperty("token").GetString()!.Split('.').Length);
    }

    [Fact]
    public async Task Without_compatibility_the_originals_query_forms_answer_as_before()
    {
        var credentials = $"username={Uri.EscapeDataString(BlogProcess.Username)}&password={Uri.EscapeDataString(BlogProcess.Password)}";
        var (status, json) = await Blog.SendAsync(HttpMethod.Get, "/auth?" + credentials);
        Assert.Equal((405, 405), (status, json.GetProperty("code").GetInt32()));

        (status, json) = await Blog.SendAsync(HttpMethod.Post, "/api/v1/tags?name=query-tag&state=1&created_by=me", Token);
        Assert.Equal((400, 400), (status, json.GetProperty("code").GetInt32()));
        Assert.Equal(["created_by", "name"], json.GetProperty("data").GetProperty("errors").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_with_the_envelope()
    {
        // Content-Length says 2 MiB: Kestrel refuses it against MaxRequestBodySize (1 MiB) before the body is sent.
        var head = $"POST /api/v1/tags HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {Token}\r\nContent-Type: application/json\r\nContent-Length: {2 << 20}\r\n\r\n{{";
        var response = await RawExchangeAsync(Encoding.ASCII.GetBytes(head));
        Assert.StartsWith("HTTP/1.1 413 ", response, StringComparison.Ordinal);
        Assert.Contains("\"code\":413", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Headers_over_MaxHeaderBytes_are_431()
    {
        var head = "GET /api/v1/tags HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('x', (1 << 20) + 1024) + "\r\n\r\n";
        var response = await RawExchangeAsync(Encoding.ASCII.GetBytes(head));
        Assert.StartsWith("HTTP/1.1 431 ", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_routes_and_methods_get_the_envelope()
    {
        var (status, json) = await Blog.SendAsync(HttpMethod.Get, "/no/such/thing");
        Assert.Equal((404, 404), (status, json.GetProperty("code").GetInt32()));
        (status, json) = await Blog.SendAsync(HttpMethod.Patch, "/auth");
        Assert.Equal((405, 405), (status, json.GetProperty("code").GetInt32()));
    }

    [Fact]
    public async Task The_openapi_document_describes_the_api()
    {
        using var response = await Blog.Client.GetAsync("/openapi/v1.json");
        var (status, json) = await BlogProcess.ReadAsync(response);
        Assert.Equal(200, status);
        var paths = json.GetProperty("paths");
        foreach (var path in (string[])["/auth", "/api/v1/tags", "/api/v1/tags/{id}", "/api/v1/articles", "/api/v1/articles/{id}"])
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} missing from the OpenAPI document");
        }

        Assert.True(json.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("bearer", out _));
        Assert.True(paths.GetProperty("/api/v1/tags").GetProperty("get").TryGetProperty("security", out _), "API operations name the bearer scheme");
        Assert.False(paths.GetProperty("/auth").GetProperty("post").TryGetProperty("security", out _), "/auth needs no token");
    }

    /// <summary>Sends raw bytes (the send may be cut short when the server answers early) and reads the reply.</summary>
    private async Task<string> RawExchangeAsync(byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(Blog.BaseAddress.Host, Blog.BaseAddress.Port, timeout.Token);
        try
        {
            await socket.SendAsync(request, SocketFlags.None, timeout.Token);
        }
        catch (SocketException)
        {
            // The server may answer and close before it has read everything we send.
        }

        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int count;
            while ((count = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, count);
                var text = Encoding.UTF8.GetString(received.ToArray());
                if (IsComplete(text))
                {
                    return text;
                }
            }
        }
        catch (SocketException) when (received.Length > 0)
        {
            // Reset after the answer arrived.
        }

        return Encoding.UTF8.GetString(received.ToArray());
    }

    private static bool IsComplete(string response)
    {
        var end = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var header = response[..end].Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return header is not null && Encoding.UTF8.GetByteCount(response[(end + 4)..]) >= int.Parse(header["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>The limit on /auth, with the shipped settings (App:AuthRateLimit: 10 attempts per client per minute).</summary>
public sealed class AuthRateLimitTests
{
    [Fact]
    public async Task Thirty_quick_failed_logins_get_429_after_the_tenth()
    {
        await using var blog = await BlogProcess.StartWithUserAsync();
        var answers = new List<(int Status, int Code)>();
        string? retryAfter = null;
        for (var i = 0; i < 30; i++)
        {
            using var response = await blog.Client.PostAsync("/auth", new FormUrlEncodedContent(
                new Dictionary<string, string> { ["username"] = BlogProcess.Username, ["password"] = "wrong " + i }));
            var (status, json) = await BlogProcess.ReadAsync(response);
            answers.Add((status, json.GetProperty("code").GetInt32()));
            if (status == 429)
            {
                Assert.Equal("too many requests: try again later", json.GetProperty("msg").GetString());
                retryAfter ??= response.Headers.TryGetValues("Retry-After", out var values) ? values.Single() : "";
            }
        }

        Assert.Equal(Enumerable.Repeat((401, 20004), 10).Concat(Enumerable.Repeat((429, 429), 20)), answers);
        Assert.True(int.TryParse(retryAfter, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 60, $"Retry-After: '{retryAfter}'");

        // The limit counts attempts, not failures: the right password waits too. The API itself is not limited.
        var (limited, body) = await blog.SendAsync(HttpMethod.Post, "/auth", content: new FormUrlEncodedContent(
            new Dictionary<string, string> { ["username"] = BlogProcess.Username, ["password"] = BlogProcess.Password }));
        Assert.Equal((429, 429), (limited, body.GetProperty("code").GetInt32()));
        Assert.Equal(401, (await blog.SendAsync(HttpMethod.Get, "/api/v1/tags")).Status);
    }
}

/// <summary>Start-up checks, each on its own process.</summary>
public sealed class BlogStartTests
{
    [Fact]
    public async Task Production_without_a_jwt_secret_refuses_to_start_and_says_why()
    {
        var (exitCode, output) = await BlogProcess.RunUntilExitAsync(new Dictionary<string, string?> { ["App__JwtSecret"] = null });
        Assert.NotEqual(0, exitCode);
        Assert.Contains("App:JwtSecret is missing", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_with_the_development_secret_refuses_to_start()
    {
        var (exitCode, output) = await BlogProcess.RunUntilExitAsync(
            new Dictionary<string, string?> { ["App__JwtSecret"] = Options.AppOptions.DevelopmentSecretPrefix + "0123456789abcdef0123456789abcdef" });
        Assert.NotEqual(0, exitCode);
        Assert.Contains("development secret", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_database_provider_refuses_to_start()
    {
        var (exitCode, output) = await BlogProcess.RunUntilExitAsync(null, "--Database:Provider=mysql");
        Assert.NotEqual(0, exitCode);
        Assert.Contains("Database:Provider must be 'sqlite' or 'postgres'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_never_creates_the_demo_user_even_when_the_settings_ask_for_it()
    {
        await using var blog = await BlogProcess.StartAsync(new Dictionary<string, string?> { ["App__SeedDemoUser"] = "true" });
        var (status, json) = await blog.SendAsync(HttpMethod.Post, "/auth", content: new FormUrlEncodedContent(
            new Dictionary<string, string> { ["username"] = "test", ["password"] = "test123" }));
        Assert.Equal((401, 20004), (status, json.GetProperty("code").GetInt32()));
        Assert.Contains("App:SeedDemoUser is ignored in the Production environment", blog.Output, StringComparison.Ordinal);
        Assert.Equal(0, await BlogDatabaseFile.CountUsersAsync(blog.ContentRoot));
    }

    [Fact]
    public async Task Development_serves_out_of_the_box_and_seeds_the_demo_user()
    {
        // What `dotnet run --project samples/Blog` does from a fresh clone: no secret set, the development one is used.
        await using var blog = await BlogProcess.StartAsync(new Dictionary<string, string?>
        {
            ["App__JwtSecret"] = null,
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_ENVIRONMENT"] = "Development",
        });
        var token = await blog.TokenAsync("test", "test123");
        var (status, json) = await blog.SendAsync(HttpMethod.Get, "/api/v1/tags", token);
        Assert.Equal(200, status);
        Assert.Equal(0, json.GetProperty("data").GetProperty("total").GetInt64());
        Assert.True(File.Exists(Path.Combine(blog.ContentRoot, "data", "blog.db")));
        Assert.Equal(blog.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(blog.ContentRoot, "data", "blog.pid")).Trim());
    }
}
