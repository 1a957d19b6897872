using Blog.Api;
using Blog.Auth;
using Blog.Data;

namespace Blog.Endpoints;

/// <summary><c>POST /auth</c>: username and password for a token.</summary>
internal static class AuthEndpoints
{
    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/auth", Login)
            .WithTags("auth")
            .WithSummary("Exchange a username and password for a token (valid for App:TokenLifetime).")
            .Accepts<Credentials>(ContentTypes.Json, ContentTypes.Form, ContentTypes.Multipart)
            .Produces<Envelope<TokenData>>()
            .Produces<Envelope<ErrorData>>(StatusCodes.Status400BadRequest)
            .Produces<Envelope<EmptyData>>(StatusCodes.Status401Unauthorized);
        return app;
    }

    public static async Task<IResult> Login(HttpContext context, BlogStore store, JwtTokens tokens, ILoggerFactory loggers)
    {
        var (fields, failure) = await RequestFields.ReadAsync(context.Request, context.RequestAborted);
        if (failure is not null)
        {
            return failure;
        }

        var v = new FieldValidator();
        var credentials = Credentials.Parse(fields!, v);
        if (credentials is null)
        {
            return v.Failure();
        }

        var user = await store.FindUserAsync(credentials.Username, context.RequestAborted);
        var logger = loggers.CreateLogger(typeof(AuthEndpoints).FullName!);
        if (user is null)
        {
            PasswordHasher.VerifyDecoy(credentials.Password);
            BlogLog.LoginRefused(logger, credentials.Username);
            return ApiResults.Unauthorized(ApiCode.AuthFailed);
        }

        if (!PasswordHasher.Verify(credentials.Password, user.PasswordHash))
        {
            BlogLog.LoginRefused(logger, credentials.Username);
            return ApiResults.Unauthorized(ApiCode.AuthFailed);
        }

        BlogLog.TokenIssued(logger, user.Username);
        return ApiResults.Ok(new TokenData(tokens.Issue(user.Username)));
    }
}

/// <summary>The body types every write endpoint accepts.</summary>
internal static class ContentTypes
{
    public const string Json = "application/json";
    public const string Form = "application/x-www-form-urlencoded";
    public const string Multipart = "multipart/form-data";
}
