using Blog.Api;
using Blog.Endpoints;
using Xunit;

namespace Blog.Tests;

/// <summary>The request records: what each endpoint requires, and every error reported at once.</summary>
public sealed class RequestParsingTests
{
    private static RequestFields Fields(params (string Name, string Value)[] values) =>
        new(values.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal));

    [Fact]
    public void TagCreate_needs_name_and_created_by_and_defaults_state_to_0()
    {
        var v = new FieldValidator();
        var tag = TagCreate.Parse(Fields(("name", " go "), ("created_by", "me")), v);
        Assert.Equal(new TagCreate("go", "me", 0), tag);
    }

    [Fact]
    public void TagCreate_reports_every_bad_field()
    {
        var v = new FieldValidator();
        Assert.Null(TagCreate.Parse(Fields(("name", new string('x', 101)), ("state", "5")), v));
        Assert.Equal(["created_by", "name", "state"], v.Errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TagUpdate_needs_only_modified_by()
    {
        var v = new FieldValidator();
        Assert.Equal(new TagUpdate(null, "you", null), TagUpdate.Parse(Fields(("modified_by", "you")), v));

        var missing = new FieldValidator();
        Assert.Null(TagUpdate.Parse(Fields(("name", "go")), missing));
        Assert.Equal("is required", missing.Errors["modified_by"]);
    }

    [Fact]
    public void ArticleCreate_needs_tag_title_desc_content_and_author()
    {
        var v = new FieldValidator();
        Assert.Null(ArticleCreate.Parse(RequestFields.Empty, v));
        Assert.Equal(["content", "created_by", "desc", "tag_id", "title"], v.Errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ArticleCreate_keeps_content_as_sent()
    {
        var v = new FieldValidator();
        var article = ArticleCreate.Parse(
            Fields(("tag_id", "3"), ("title", "T"), ("desc", "D"), ("content", "  indented\n"), ("created_by", "me"), ("state", "1")), v);
        Assert.Equal(new ArticleCreate(3, "T", "D", "  indented\n", "me", "", 1), article);
    }

    [Fact]
    public void ArticleUpdate_rejects_a_bad_tag_id()
    {
        var v = new FieldValidator();
        Assert.Null(ArticleUpdate.Parse(Fields(("tag_id", "0"), ("modified_by", "me")), v));
        Assert.Equal("must be a positive whole number", v.Errors["tag_id"]);
    }

    [Fact]
    public void Queries_parse_their_filters_and_page()
    {
        var v = new FieldValidator();
        Assert.Equal(new TagQuery("go", 1, 2), TagQuery.Parse("go", "1", "2", v));
        Assert.Equal(new ArticleQuery(null, 4, 1), ArticleQuery.Parse(null, "4", null, v));
        Assert.True(v.IsValid);
    }

    [Fact]
    public void Credentials_are_required_and_at_most_50_characters()
    {
        var v = new FieldValidator();
        Assert.Null(Credentials.Parse(Fields(("username", new string('u', 51))), v));
        Assert.Equal(["password", "username"], v.Errors.Keys.Order(StringComparer.Ordinal));
    }
}
