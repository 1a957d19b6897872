using System.Text.Json;
using Blog.Options;
using Microsoft.Extensions.Options;

namespace Blog.Api;

/// <summary>
/// The fields of a write request, read from a form (<c>application/x-www-form-urlencoded</c> or
/// <c>multipart/form-data</c>, as the original) or a JSON object, into one flat name -> text map so that one
/// validator serves both. JSON numbers and booleans keep their literal text; <c>null</c> counts as absent.
/// </summary>
internal sealed class RequestFields
{
    private readonly Dictionary<string, string> values;

    public RequestFields(Dictionary<string, string> values) => this.values = values;

    public static RequestFields Empty { get; } = new(new Dictionary<string, string>(StringComparer.Ordinal));

    /// <summary>A field's text, or null when it was not sent (or sent as JSON null).</summary>
    public string? this[string name] => values.TryGetValue(name, out var value) ? value : null;

    public int Count => values.Count;

    /// <summary>
    /// These fields plus those of <paramref name="query"/> that the body did not send (the first value of each), for
    /// clients of the original, which read write fields from the query string.
    /// </summary>
    public RequestFields WithQuery(IQueryCollection query)
    {
        if (query.Count == 0)
        {
            return this;
        }

        var merged = new Dictionary<string, string>(values, StringComparer.Ordinal);
        foreach (var (key, value) in query)
        {
            if (value.Count > 0 && value[0] is { } first)
            {
                merged.TryAdd(key, first);
            }
        }

        return new RequestFields(merged);
    }

    /// <summary>Reads the body. On failure returns the response to send instead (400, 413 or 415, with the envelope).</summary>
    public static async Task<(RequestFields? Fields, IResult? Failure)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            if (request.HasFormContentType)
            {
                var form = await request.ReadFormAsync(cancellationToken);
                var fields = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var (key, value) in form)
                {
                    if (value.Count > 0 && value[0] is { } first)
                    {
                        fields[key] = first;
                    }
                }

                return (new RequestFields(fields), null);
            }

            if (IsJson(request.ContentType))
            {
                using var document = await JsonDocument.ParseAsync(request.Body, default, cancellationToken);
                return FromJson(document.RootElement);
            }

            if (request.ContentLength is null or 0 && string.IsNullOrEmpty(request.ContentType) && !HasChunkedBody(request))
            {
                return (Empty, null);
            }

            return (null, ApiResults.Fail(StatusCodes.Status415UnsupportedMediaType, ApiCode.UnsupportedMediaType,
                Errors("body", $"content type '{request.ContentType}' is not supported: send application/x-www-form-urlencoded, multipart/form-data or application/json")));
        }
        catch (JsonException ex)
        {
            return (null, ApiResults.Invalid("body", $"malformed JSON: {ex.Message}"));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, ApiResults.Fail(StatusCodes.Status413PayloadTooLarge, ApiCode.PayloadTooLarge,
                Errors("body", $"the body is larger than the limit of {request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize} bytes")));
        }
        catch (BadHttpRequestException ex)
        {
            return (null, ApiResults.Invalid("body", ex.Message));
        }
        catch (InvalidDataException ex)
        {
            // Form limits (too many fields, a value too long) and malformed multipart bodies.
            return (null, ApiResults.Invalid("body", ex.Message));
        }
    }

    /// <summary>The map for a parsed JSON body: an object whose values are strings, numbers, booleans or null.</summary>
    public static (RequestFields? Fields, IResult? Failure) FromJson(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, ApiResults.Invalid("body", $"the JSON body must be an object (got {root.ValueKind})"));
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    fields[property.Name] = property.Value.GetString()!;
                    break;
                case JsonValueKind.Number:
                    fields[property.Name] = property.Value.GetRawText();
                    break;
                case JsonValueKind.True:
                    fields[property.Name] = "true";
                    break;
                case JsonValueKind.False:
                    fields[property.Name] = "false";
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    return (null, ApiResults.Invalid(property.Name, "must be a string or a number"));
            }
        }

        return (new RequestFields(fields), null);
    }

    private static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        var mediaType = contentType.AsSpan();
        var semicolon = mediaType.IndexOf(';');
        if (semicolon >= 0)
        {
            mediaType = mediaType[..semicolon];
        }

        mediaType = mediaType.Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) ||
               mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    private static bool HasChunkedBody(HttpRequest request) =>
        request.Headers.TransferEncoding.Count > 0;

    private static Dictionary<string, string> Errors(string field, string message) => new(StringComparer.Ordinal) { [field] = message };
}

/// <summary>A write request read and checked: the parsed fields and route id, or the response that says why not.</summary>
internal readonly record struct Bound<T>(T? Value, long Id, IResult? Failure)
    where T : class
{
    /// <summary>
    /// Reads the body (form or JSON), and with App:CompatibleWithOriginal the query string's fields the body lacks;
    /// checks the route <paramref name="id"/> when there is one, and parses the fields; every problem found is
    /// reported at once.
    /// </summary>
    public static async Task<Bound<T>> ReadAsync(HttpContext context, Func<RequestFields, FieldValidator, T?> parse, string? id = null)
    {
        var (fields, failure) = await RequestFields.ReadAsync(context.Request, context.RequestAborted);
        if (failure is not null)
        {
            return new Bound<T>(null, 0, failure);
        }

        if (context.RequestServices.GetRequiredService<IOptions<AppOptions>>().Value.CompatibleWithOriginal)
        {
            fields = fields!.WithQuery(context.Request.Query);
        }

        var v = new FieldValidator();
        var parsedId = id is null ? 0 : v.Id("id", id, required: true) ?? 0;
        var value = parse(fields!, v);
        return v.IsValid && value is not null ? new Bound<T>(value, parsedId, null) : new Bound<T>(null, 0, v.Failure());
    }
}
