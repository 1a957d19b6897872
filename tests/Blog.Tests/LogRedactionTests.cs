using Blog.Logging;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Blog.Tests;

/// <summary>Secrets in query strings (<c>?token=</c>, and the compatible mode's <c>password=</c>) never reach a log line.</summary>
public sealed class LogRedactionTests
{
    [Fact]
    public async Task Query_tokens_and_passwords_are_absent_from_a_trace_level_log_while_the_requests_are_logged()
    {
        // Everything at Trace: hosting diagnostics ("Request starting ... ?token=..."), routing, Kestrel, the Blog.
        await using var blog = await BlogProcess.StartWithUserAsync(
            new Dictionary<string, string?> { ["App__CompatibleWithOriginal"] = "true" },
            "--Logging:LogLevel:Default=Trace", "--Logging:LogLevel:Microsoft=Trace", "--Logging:LogLevel:Microsoft.AspNetCore=Trace",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Trace");

        var token = await blog.TokenAsync();
        const string Forged = "forged-token-value-7f3a9c";

        var (status, _) = await blog.SendAsync(HttpMethod.Get, "/api/v1/tags?probe=1&token=" + Uri.EscapeDataString(token));
        Assert.Equal(200, status);
        (status, _) = await blog.SendAsync(HttpMethod.Get, "/api/v1/tags?probe=2&TOKEN=x&token=" + Forged);
        Assert.Equal(401, status);
        (status, _) = await blog.SendAsync(HttpMethod.Get,
            $"/auth?probe=3&username={Uri.EscapeDataString(BlogProcess.Username)}&password={Uri.EscapeDataString(BlogProcess.Password)}");
        Assert.Equal(200, status);
        (status, _) = await blog.SendAsync(HttpMethod.Get, "/api/v1/tags?probe=4", token);
        Assert.Equal(200, status);

        // The requests reached the server and were logged, with and after their query strings.
        foreach (var probe in (string[])["probe=1", "probe=2", "probe=3", "probe=4"])
        {
            await blog.WaitForLineAsync(l => l.Contains("Request finished", StringComparison.Ordinal) && l.Contains(probe, StringComparison.Ordinal));
        }

        var output = blog.Output;
        Assert.Contains("probe=1&token=[redacted]", output, StringComparison.Ordinal);
        Assert.Contains("&password=[redacted]", output, StringComparison.Ordinal);
        Assert.Contains("Token refused on /api/v1/tags", output, StringComparison.Ordinal);
        foreach (var secret in (string[])[token, token.Split('.')[2], Forged, BlogProcess.Password, Uri.EscapeDataString(BlogProcess.Password)])
        {
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        }
    }
}

/// <summary>The logger wrapper on its own: what a structured provider (not only the console's text) receives.</summary>
public sealed class RedactingLoggerTests
{
    [Fact]
    public void The_message_the_structured_values_and_the_exception_text_are_redacted()
    {
        var inner = new CapturingLogger();
        var logger = new RedactingLogger(inner);
        IReadOnlyList<KeyValuePair<string, object?>> state =
        [
            new("Path", "/api/v1/tags"),
            new("QueryString", "?token=secret-1"),
            new("StatusCode", 200),
            new("{OriginalFormat}", "GET {Path}{QueryString} {StatusCode}"),
        ];
        var exception = new InvalidOperationException("failed on /x?password=secret-2");

        logger.Log(LogLevel.Information, new EventId(1), state, exception, static (s, _) => $"GET {s[0].Value}{s[1].Value} {s[2].Value}");

        var entry = Assert.Single(inner.Entries);
        Assert.Equal("GET /api/v1/tags?token=[redacted] 200", entry.Message);
        Assert.Equal(
            [new("Path", "/api/v1/tags"), new("QueryString", "?token=[redacted]"), new("StatusCode", 200), new("{OriginalFormat}", "GET {Path}{QueryString} {StatusCode}")],
            entry.Values);
        Assert.Contains("/x?password=[redacted]", entry.Exception!.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("secret", entry.Message + string.Join(",", entry.Values) + entry.Exception, StringComparison.Ordinal);
    }

    [Fact]
    public void A_line_without_secrets_passes_its_own_state_and_exception()
    {
        var inner = new CapturingLogger();
        var exception = new InvalidOperationException("plain");
        var state = new List<KeyValuePair<string, object?>> { new("QueryString", "?page=2") };
        new RedactingLogger(inner).Log(LogLevel.Warning, new EventId(2), state, exception, static (s, _) => "page " + s[0].Value);

        var entry = Assert.Single(inner.Entries);
        Assert.Same(state, entry.State);
        Assert.Same(exception, entry.Exception);
        Assert.Equal("page ?page=2", entry.Message);
    }

    [Fact]
    public void Disabled_levels_are_neither_formatted_nor_passed_on()
    {
        var inner = new CapturingLogger { Minimum = LogLevel.Warning };
        new RedactingLogger(inner).Log<object?>(LogLevel.Debug, default, null, null, static (_, _) => throw new InvalidOperationException("formatted"));
        Assert.Empty(inner.Entries);
    }

    private sealed record Entry(string Message, object? State, IReadOnlyList<KeyValuePair<string, object?>> Values, Exception? Exception);

    private sealed class CapturingLogger : ILogger
    {
        public List<Entry> Entries { get; } = [];

        public LogLevel Minimum { get; init; } = LogLevel.Trace;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= Minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add(new Entry(formatter(state, exception), state, state as IReadOnlyList<KeyValuePair<string, object?>> ?? [], exception));
    }
}
