using Blog.Api;
using Blog.Data;
using Xunit;

namespace Blog.Tests;

/// <summary>Every answer is {"code", "msg", "data"} with the original's numbers.</summary>
public sealed class EnvelopeTests
{
    [Fact]
    public async Task Ok_wraps_the_data_with_code_200_and_msg_ok()
    {
        var tag = new Tag(7, "go", 100, "me", 0, "", 0, 1);
        var (status, json) = await HttpTestContext.ExecuteAsync(ApiResults.Ok(tag));
        Assert.Equal(200, status);
        Assert.Equal(200, json.GetProperty("code").GetInt32());
        Assert.Equal("ok", json.GetProperty("msg").GetString());
        var data = json.GetProperty("data");
        Assert.Equal(7, data.GetProperty("id").GetInt64());
        Assert.Equal("go", data.GetProperty("name").GetString());
        Assert.Equal(100, data.GetProperty("created_on").GetInt64());
        Assert.Equal(0, data.GetProperty("deleted_on").GetInt64());
        Assert.Equal(1, data.GetProperty("state").GetInt32());
    }

    [Fact]
    public async Task Ok_without_data_sends_an_empty_object_as_the_original()
    {
        var (_, json) = await HttpTestContext.ExecuteAsync(ApiResults.Ok());
        Assert.Equal("{}", json.GetProperty("data").GetRawText());
    }

    [Fact]
    public async Task A_page_carries_lists_and_total()
    {
        var page = new Page<Tag>([new Tag(1, "a", 0, "", 0, "", 0, 1)], 41);
        var (_, json) = await HttpTestContext.ExecuteAsync(ApiResults.Ok(page));
        Assert.Equal(1, json.GetProperty("data").GetProperty("lists").GetArrayLength());
        Assert.Equal(41, json.GetProperty("data").GetProperty("total").GetInt64());
    }

    [Fact]
    public async Task An_article_carries_its_tag()
    {
        var article = new Article(3, 1, new Tag(1, "go", 0, "", 0, "", 0, 1), "T", "D", "C", "u", 5, "me", 0, "", 0, 1);
        var (_, json) = await HttpTestContext.ExecuteAsync(ApiResults.Ok(article));
        var data = json.GetProperty("data");
        Assert.Equal("go", data.GetProperty("tag").GetProperty("name").GetString());
        Assert.Equal("D", data.GetProperty("desc").GetString());
        Assert.Equal("u", data.GetProperty("cover_image_url").GetString());
    }

    [Theory]
    [InlineData(10002, "tag not found")]
    [InlineData(10003, "article not found")]
    public async Task Not_found_is_404_with_its_code(int number, string message)
    {
        var (status, json) = await HttpTestContext.ExecuteAsync(ApiResults.NotFound((ApiCode)number));
        Assert.Equal(404, status);
        Assert.Equal(number, json.GetProperty("code").GetInt32());
        Assert.Equal(message, json.GetProperty("msg").GetString());
    }

    [Theory]
    [InlineData(20001, "token invalid")]
    [InlineData(20002, "token expired")]
    [InlineData(20004, "wrong username or password")]
    public async Task Token_and_login_failures_are_401_with_distinct_codes(int number, string message)
    {
        var (status, json) = await HttpTestContext.ExecuteAsync(ApiResults.Unauthorized((ApiCode)number));
        Assert.Equal(message, json.GetProperty("msg").GetString());
        Assert.Equal(401, status);
        Assert.Equal(number, json.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Invalid_lists_each_field_and_why()
    {
        var (status, json) = await HttpTestContext.ExecuteAsync(ApiResults.Invalid("name", "is required"));
        Assert.Equal(400, status);
        Assert.Equal(400, json.GetProperty("code").GetInt32());
        Assert.Equal("is required", json.GetProperty("data").GetProperty("errors").GetProperty("name").GetString());
    }

    [Fact]
    public void Every_code_has_its_own_message()
    {
        var messages = Enum.GetValues<ApiCode>().Select(ApiCodes.Message).ToList();
        Assert.DoesNotContain("error", messages);
        Assert.Equal(messages.Count, messages.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void The_original_numbers_are_kept()
    {
        Assert.Equal(10001, (int)ApiCode.TagExists);
        Assert.Equal(10002, (int)ApiCode.TagNotFound);
        Assert.Equal(10003, (int)ApiCode.ArticleNotFound);
        Assert.Equal(20001, (int)ApiCode.TokenInvalid);
        Assert.Equal(20002, (int)ApiCode.TokenExpired);
        Assert.Equal(20003, (int)ApiCode.TokenGenerationFailed);
        Assert.Equal(20004, (int)ApiCode.AuthFailed);
    }

    [Theory]
    [InlineData(404, 404)]
    [InlineData(405, 405)]
    [InlineData(413, 413)]
    [InlineData(431, 400)]
    [InlineData(503, 500)]
    public void Bare_statuses_map_to_codes(int status, int code) => Assert.Equal((ApiCode)code, ApiCodes.ForStatus(status));
}
