using System.Text.Json.Serialization.Metadata;

namespace Blog.Api;

/// <summary>Builds the envelope responses; every endpoint answers through these.</summary>
internal static class ApiResults
{
    public static IResult Ok<T>(T data) => Envelope(StatusCodes.Status200OK, ApiCode.Success, data);

    public static IResult Ok() => Ok(EmptyData.Instance);

    /// <summary>400 with code 400 and, in <c>data.errors</c>, what is wrong with each field.</summary>
    public static IResult Invalid(IReadOnlyDictionary<string, string> errors) =>
        Fail(StatusCodes.Status400BadRequest, ApiCode.InvalidParams, errors);

    public static IResult Invalid(string field, string message) =>
        Invalid(new Dictionary<string, string>(StringComparer.Ordinal) { [field] = message });

    public static IResult NotFound(ApiCode code) => Fail(StatusCodes.Status404NotFound, code);

    public static IResult Unauthorized(ApiCode code) => Fail(StatusCodes.Status401Unauthorized, code);

    public static IResult Fail(int status, ApiCode code, IReadOnlyDictionary<string, string>? errors = null) =>
        errors is null
            ? Envelope(status, code, EmptyData.Instance)
            : Envelope(status, code, new ErrorData(errors));

    public static IResult Envelope<T>(int status, ApiCode code, T data) =>
        TypedResults.Json(new Envelope<T>(code, ApiCodes.Message(code), data), TypeInfo<T>(), statusCode: status);

    /// <summary>Writes an envelope straight to a response (for middleware, where there is no endpoint result).</summary>
    public static Task WriteAsync(HttpContext context, int status, ApiCode code)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new Envelope<EmptyData>(code, ApiCodes.Message(code), EmptyData.Instance), TypeInfo<EmptyData>(), contentType: null, context.RequestAborted);
    }

    private static JsonTypeInfo<Envelope<T>> TypeInfo<T>() =>
        (JsonTypeInfo<Envelope<T>>?)BlogJsonContext.Default.GetTypeInfo(typeof(Envelope<T>))
        ?? throw new InvalidOperationException($"Envelope<{typeof(T).Name}> is missing from {nameof(BlogJsonContext)}.");
}
