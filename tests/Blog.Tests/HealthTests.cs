using Xunit;

namespace Blog.Tests;

/// <summary>/health/ready and /health/live: anonymous, in the envelope, and readiness through a stop with Baton:DrainDelay.</summary>
public sealed class HealthTests
{
    private const int SIGTERM = 15;

    [Fact]
    public async Task Health_endpoints_answer_without_a_token_in_the_envelope()
    {
        await using var blog = await BlogProcess.StartAsync();

        // Once ready (a probe in the moment between Kestrel listening and the process serving gets 503, as it should).
        await blog.WaitUntilReadyAsync();
        foreach (var path in (string[])["/health/ready", "/health/live"])
        {
            var (status, json) = await blog.SendAsync(HttpMethod.Get, path);
            Assert.Equal(200, status);
            Assert.Equal("""{"code":200,"msg":"ok","data":{"status":"Healthy"}}""", json.GetRawText());
        }
    }

    [Fact]
    public async Task On_SIGTERM_with_DrainDelay_readiness_is_503_in_the_envelope_while_the_process_still_answers_then_it_exits_0()
    {
        await using var blog = await BlogProcess.StartAsync(new Dictionary<string, string?> { ["Baton__DrainDelay"] = "00:00:02" });
        await blog.WaitUntilReadyAsync();

        blog.Signal(SIGTERM);
        await blog.WaitForLineAsync(l => l.Contains("is no longer ready and still accepts", StringComparison.Ordinal));
        var (status, json) = await blog.SendAsync(HttpMethod.Get, "/health/ready");
        Assert.Equal(503, status);
        Assert.Equal("""{"code":503,"msg":"service unavailable","data":{"status":"Unhealthy"}}""", json.GetRawText());
        Assert.Equal(200, (await blog.SendAsync(HttpMethod.Get, "/health/live")).Status);

        // The API still answers during the delay: here, as ever, a request without a token.
        (status, json) = await blog.SendAsync(HttpMethod.Get, "/api/v1/tags");
        Assert.Equal((401, 400), (status, json.GetProperty("code").GetInt32()));

        Assert.Equal(0, await blog.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
