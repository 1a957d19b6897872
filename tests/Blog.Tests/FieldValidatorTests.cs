using Blog.Api;
using Xunit;

namespace Blog.Tests;

public sealed class FieldValidatorTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Required_text_that_is_absent_or_blank_is_an_error(string? value)
    {
        var v = new FieldValidator();
        Assert.Null(v.Text("name", value, 10, required: true));
        Assert.Equal("is required", v.Errors["name"]);
    }

    [Fact]
    public void Optional_text_that_is_absent_is_null_and_no_error()
    {
        var v = new FieldValidator();
        Assert.Null(v.Text("name", null, 10, required: false));
        Assert.True(v.IsValid);
    }

    [Fact]
    public void Text_is_trimmed_and_its_length_checked_after_trimming()
    {
        var v = new FieldValidator();
        Assert.Equal("abc", v.Text("name", "  abc  ", 3, required: true));
        Assert.Null(v.Text("other", "abcd", 3, required: true));
        Assert.Equal("must be at most 3 characters (got 4)", v.Errors["other"]);
    }

    [Fact]
    public void Untrimmed_text_keeps_its_white_space()
    {
        var v = new FieldValidator();
        Assert.Equal(" pass word ", v.Text("password", " pass word ", 50, required: true, trim: false));
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("1", 1)]
    [InlineData(" 1 ", 1)]
    public void State_accepts_0_and_1(string value, int expected)
    {
        var v = new FieldValidator();
        Assert.Equal(expected, v.State("state", value));
        Assert.True(v.IsValid);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("-1")]
    [InlineData("true")]
    [InlineData("1.0")]
    public void State_rejects_anything_else(string value)
    {
        var v = new FieldValidator();
        Assert.Null(v.State("state", value));
        Assert.Equal("must be 0 or 1", v.Errors["state"]);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("abc")]
    [InlineData("1e3")]
    [InlineData("99999999999999999999")]
    public void Id_must_be_a_positive_whole_number(string value)
    {
        var v = new FieldValidator();
        Assert.Null(v.Id("id", value, required: true));
        Assert.Equal("must be a positive whole number", v.Errors["id"]);
    }

    [Fact]
    public void Id_parses_large_values()
    {
        var v = new FieldValidator();
        Assert.Equal(9_000_000_000L, v.Id("id", "9000000000", required: true));
    }

    [Theory]
    [InlineData(null, 1)]
    [InlineData("", 1)]
    [InlineData("1", 1)]
    [InlineData("7", 7)]
    [InlineData("0", 1)]
    [InlineData("-1", 1)]
    [InlineData("-3", 1)]
    public void Page_defaults_to_the_first_and_counts_below_one_as_the_first(string? value, int expected)
    {
        var v = new FieldValidator();
        Assert.Equal(expected, v.Page(value));
        Assert.True(v.IsValid);
    }

    [Theory]
    [InlineData("x")]
    [InlineData("1.5")]
    [InlineData("99999999999")]
    public void Page_rejects_what_is_not_a_whole_number(string value)
    {
        var v = new FieldValidator();
        v.Page(value);
        Assert.Equal("must be a whole number", v.Errors["page"]);
    }

    [Theory]
    [InlineData(1, 10, 0)]
    [InlineData(2, 10, 10)]
    [InlineData(3, 5, 10)]
    [InlineData(int.MaxValue, 1000, (long)(int.MaxValue - 1) * 1000)]
    public void Paging_skips_the_pages_before(int page, int pageSize, long offset) =>
        Assert.Equal(offset, Paging.Offset(page, pageSize));
}
