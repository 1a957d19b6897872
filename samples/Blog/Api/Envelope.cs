using System.Text.Json.Serialization;

namespace Blog.Api;

/// <summary>Every response body: <c>{"code", "msg", "data"}</c>, as the original.</summary>
internal sealed record Envelope<T>(
    [property: JsonPropertyName("code")] ApiCode Code,
    [property: JsonPropertyName("msg")] string Msg,
    [property: JsonPropertyName("data")] T Data);

/// <summary><c>data</c> when there is nothing to return: <c>{}</c>, as the original.</summary>
internal sealed record EmptyData
{
    public static EmptyData Instance { get; } = new();
}

/// <summary><c>data</c> of a rejected request: which field is wrong and why.</summary>
internal sealed record ErrorData([property: JsonPropertyName("errors")] IReadOnlyDictionary<string, string> Errors);

/// <summary><c>data</c> of a list endpoint: one page of items and the total across pages, as the original.</summary>
internal sealed record Page<T>(
    [property: JsonPropertyName("lists")] IReadOnlyList<T> Lists,
    [property: JsonPropertyName("total")] long Total);

/// <summary><c>data</c> of <c>POST /auth</c>.</summary>
internal sealed record TokenData([property: JsonPropertyName("token")] string Token);

/// <summary><c>data</c> of <c>/health/ready</c> and <c>/health/live</c>: Healthy or Unhealthy.</summary>
internal sealed record HealthData([property: JsonPropertyName("status")] string Status);
