using Blog.Logging;
using Xunit;

namespace Blog.Tests;

public sealed class QueryRedactionTests
{
    [Theory]
    [InlineData("GET http://h/api/v1/tags?token=abc.def.ghi - 200", "GET http://h/api/v1/tags?token=[redacted] - 200")]
    [InlineData("/api/v1/tags?page=2&token=abc&state=1", "/api/v1/tags?page=2&token=[redacted]&state=1")]
    [InlineData("/api/v1/tags?TOKEN=abc", "/api/v1/tags?TOKEN=[redacted]")]
    [InlineData("/api/v1/tags?%74oken=abc", "/api/v1/tags?%74oken=[redacted]")]
    [InlineData("/auth?username=u&password=p%20w", "/auth?username=u&password=[redacted]")]
    [InlineData("a ?token=x and &token=y\"", "a ?token=[redacted] and &token=[redacted]\"")]
    public void Secret_query_values_are_redacted(string text, string expected) =>
        Assert.Equal(expected, QueryRedaction.Redact(text));

    [Theory]
    [InlineData("Request finished HTTP/1.1 GET http://h/api/v1/tags?page=1 - 200")]
    [InlineData("/api/v1/tags?tokens=abc&name=token=abc")]
    [InlineData("/api/v1/tags?token=")]
    [InlineData("no query here")]
    public void Other_text_is_returned_as_it_is(string text) =>
        Assert.Same(text, QueryRedaction.Redact(text));
}
