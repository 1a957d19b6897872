using Blog.Api;
using Xunit;

namespace Blog.Tests;

/// <summary>Write endpoints take a form or JSON; both land in the same fields, and bad bodies get the envelope.</summary>
public sealed class RequestFieldsTests
{
    [Fact]
    public async Task A_urlencoded_form_is_read()
    {
        var (fields, failure) = await RequestFields.ReadAsync(HttpTestContext.Request("application/x-www-form-urlencoded", "name=go&created_by=me&state=1"), default);
        Assert.Null(failure);
        Assert.Equal("go", fields!["name"]);
        Assert.Equal("1", fields["state"]);
    }

    [Fact]
    public async Task A_multipart_form_is_read()
    {
        const string body = "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ngo\r\n--b--\r\n";
        var (fields, failure) = await RequestFields.ReadAsync(HttpTestContext.Request("multipart/form-data; boundary=b", body), default);
        Assert.Null(failure);
        Assert.Equal("go", fields!["name"]);
    }

    [Fact]
    public async Task A_json_object_is_read_with_numbers_as_their_literal_text()
    {
        var (fields, failure) = await RequestFields.ReadAsync(
            HttpTestContext.Request("application/json; charset=utf-8", """{"name":"go","state":1,"tag_id":12,"desc":null,"flag":true}"""), default);
        Assert.Null(failure);
        Assert.Equal("go", fields!["name"]);
        Assert.Equal("1", fields["state"]);
        Assert.Equal("12", fields["tag_id"]);
        Assert.Null(fields["desc"]);
        Assert.Equal("true", fields["flag"]);
        Assert.Equal(4, fields.Count);
    }

    [Fact]
    public async Task No_body_is_no_fields()
    {
        var (fields, failure) = await RequestFields.ReadAsync(HttpTestContext.Request(null, ""), default);
        Assert.Null(failure);
        Assert.Equal(0, fields!.Count);
    }

    [Theory]
    [InlineData("{\"name\":")]
    [InlineData("")]
    [InlineData("not json")]
    public async Task Malformed_json_is_400_with_the_envelope(string body)
    {
        var (fields, failure) = await RequestFields.ReadAsync(HttpTestContext.Request("application/json", body), default);
        Assert.Null(fields);
        var (status, json) = await HttpTestContext.ExecuteAsync(failure!);
        Assert.Equal(400, status);
        Assert.Equal(400, json.GetProperty("code").GetInt32());
        Assert.Equal("invalid params", json.GetProperty("msg").GetString());
        Assert.StartsWith("malformed JSON", json.GetProperty("data").GetProperty("errors").GetProperty("body").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1,2]", "body")]
    [InlineData("\"text\"", "body")]
    [InlineData("{\"name\":{\"nested\":1}}", "name")]
    [InlineData("{\"name\":[\"a\"]}", "name")]
    public async Task Json_that_is_not_a_flat_object_is_400(string body, string field)
    {
        var (_, failure) = await RequestFields.ReadAsync(HttpTestContext.Request("application/json", body), default);
        var (status, json) = await HttpTestContext.ExecuteAsync(failure!);
        Assert.Equal(400, status);
        Assert.True(json.GetProperty("data").GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task Another_content_type_is_415_with_the_envelope()
    {
        var (_, failure) = await RequestFields.ReadAsync(HttpTestContext.Request("text/plain", "name=go"), default);
        var (status, json) = await HttpTestContext.ExecuteAsync(failure!);
        Assert.Equal(415, status);
        Assert.Equal((int)ApiCode.UnsupportedMediaType, json.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Json_vendor_types_count_as_json()
    {
        var (fields, failure) = await RequestFields.ReadAsync(HttpTestContext.Request("application/vnd.blog+json", """{"a":"b"}"""), default);
        Assert.Null(failure);
        Assert.Equal("b", fields!["a"]);
    }
}
