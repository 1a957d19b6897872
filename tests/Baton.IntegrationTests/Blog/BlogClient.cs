using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Baton.IntegrationTests.Blog;

/// <summary>
/// Talks to a Blog process with a token from <c>POST /auth</c>. Every request says <c>Connection: close</c>: a
/// request on a fresh connection is never retried by SocketsHttpHandler (it retries only on a reused pooled
/// connection), so a failure the server causes is a failure the test sees.
/// </summary>
internal sealed class BlogClient : IDisposable
{
    /// <summary>The secret the tests give the Blog (Production refuses to start without one).</summary>
    public const string Secret = "integration-tests-secret-0123456789abcdef0123";

    private readonly HttpClient http;
    private string token = "";

    private BlogClient(Uri baseAddress)
    {
        http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    public static IReadOnlyDictionary<string, string> Environment { get; } = new Dictionary<string, string> { ["App__JwtSecret"] = Secret };

    public static async Task<BlogClient> LoginAsync(Uri baseAddress, BlogUser user)
    {
        var client = new BlogClient(baseAddress);
        try
        {
            var credentials = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["username"] = user.Username, ["password"] = user.Password });
            var (status, json) = await client.SendAsync(HttpMethod.Post, "/auth", credentials);
            if (status != 200)
            {
                throw new InvalidOperationException($"POST /auth: {status} {json}");
            }

            client.token = json.GetProperty("data").GetProperty("token").GetString()!;
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The bearer token from <c>POST /auth</c>.</summary>
    public string Token => token;

    public async Task<(int Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? json = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.ConnectionClose = true;
        if (token.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        using var document = JsonDocument.Parse(text);
        return ((int)response.StatusCode, document.RootElement.Clone());
    }

    /// <summary>GET /api/v1/tags: the page's length and the total.</summary>
    public async Task<(int Count, long Total)> ListTagsAsync(int page = 1)
    {
        var (status, json) = await SendAsync(HttpMethod.Get, $"/api/v1/tags?page={page}");
        if (status != 200)
        {
            throw new InvalidOperationException($"GET /api/v1/tags: {status} {json}");
        }

        var data = json.GetProperty("data");
        return (data.GetProperty("lists").GetArrayLength(), data.GetProperty("total").GetInt64());
    }

    public void Dispose() => http.Dispose();
}
