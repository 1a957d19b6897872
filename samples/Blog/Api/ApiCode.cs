namespace Blog.Api;

/// <summary>
/// The <c>code</c> of every response envelope. The HTTP-like ones and the 1xxxx/2xxxx ones are the original
/// gin-blog's numbers, so its clients keep working.
/// </summary>
internal enum ApiCode
{
    Success = 200,
    InvalidParams = 400,
    NotFound = 404,
    MethodNotAllowed = 405,
    PayloadTooLarge = 413,
    UnsupportedMediaType = 415,
    TooManyRequests = 429,
    Error = 500,
    ServiceUnavailable = 503,

    TagExists = 10001,
    TagNotFound = 10002,
    ArticleNotFound = 10003,

    TokenInvalid = 20001,
    TokenExpired = 20002,
    TokenGenerationFailed = 20003,
    AuthFailed = 20004,
}

internal static class ApiCodes
{
    /// <summary>The <c>msg</c> of an envelope: one fixed English message per code (details go in <c>data</c>).</summary>
    public static string Message(ApiCode code) => code switch
    {
        ApiCode.Success => "ok",
        ApiCode.InvalidParams => "invalid params",
        ApiCode.NotFound => "not found",
        ApiCode.MethodNotAllowed => "method not allowed",
        ApiCode.PayloadTooLarge => "request body too large",
        ApiCode.UnsupportedMediaType => "unsupported media type: send a form or JSON",
        ApiCode.TooManyRequests => "too many requests: try again later",
        ApiCode.Error => "internal error",
        ApiCode.ServiceUnavailable => "service unavailable",
        ApiCode.TagExists => "tag already exists",
        ApiCode.TagNotFound => "tag not found",
        ApiCode.ArticleNotFound => "article not found",
        ApiCode.TokenInvalid => "token invalid",
        ApiCode.TokenExpired => "token expired",
        ApiCode.TokenGenerationFailed => "token generation failed",
        ApiCode.AuthFailed => "wrong username or password",
        _ => "error",
    };

    /// <summary>The envelope code for a status that the framework or the server set without a body.</summary>
    public static ApiCode ForStatus(int status) => status switch
    {
        StatusCodes.Status400BadRequest => ApiCode.InvalidParams,
        StatusCodes.Status404NotFound => ApiCode.NotFound,
        StatusCodes.Status405MethodNotAllowed => ApiCode.MethodNotAllowed,
        StatusCodes.Status413PayloadTooLarge => ApiCode.PayloadTooLarge,
        StatusCodes.Status415UnsupportedMediaType => ApiCode.UnsupportedMediaType,
        StatusCodes.Status429TooManyRequests => ApiCode.TooManyRequests,
        _ when status >= 400 && status < 500 => ApiCode.InvalidParams,
        _ => ApiCode.Error,
    };
}
