using System.Text.Json.Serialization;
using Blog.Data;
using Blog.Endpoints;

namespace Blog.Api;

/// <summary>
/// Source-generated JSON metadata for every type the API reads or writes: no reflection at start-up, and the
/// OpenAPI document describes the same shapes the endpoints send.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(Envelope<EmptyData>))]
[JsonSerializable(typeof(Envelope<ErrorData>))]
[JsonSerializable(typeof(Envelope<TokenData>))]
[JsonSerializable(typeof(Envelope<HealthData>))]
[JsonSerializable(typeof(Envelope<Tag>))]
[JsonSerializable(typeof(Envelope<Page<Tag>>))]
[JsonSerializable(typeof(Envelope<Article>))]
[JsonSerializable(typeof(Envelope<Page<Article>>))]
[JsonSerializable(typeof(Credentials))]
[JsonSerializable(typeof(TagCreate))]
[JsonSerializable(typeof(TagUpdate))]
[JsonSerializable(typeof(ArticleCreate))]
[JsonSerializable(typeof(ArticleUpdate))]
internal sealed partial class BlogJsonContext : JsonSerializerContext;
