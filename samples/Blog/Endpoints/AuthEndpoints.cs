using Blog.Api;
using Blog.Auth;

namespace Blog.Endpoints;

/// <summary><c>POST /auth</c>: username and password for a token, a limited number of times per client.</summary>
internal static class AuthEndpoints
{
    /// <param name="app">Where to map.</param>
    /// <param name="compatibleWithOriginal">Also maps the original's <c>GET /auth?username=&amp;password=</c>.</param>
    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder app, bool compatibleWithOriginal)
    {
        app.MapPost("/auth", Login)
            .WithTags("auth")
            .WithSummary("Exchange a username and password for a token (valid for App:TokenLifetime); rate-limited per client (App:AuthRateLimit).")
            .AcceptsFormOrJson<Credentials>()
            .Answers<TokenData>(StatusCodes.Status401Unauthorized, StatusCodes.Status429TooManyRequests)
            .RequireRateLimiting(AuthRateLimit.PolicyName);
        if (compatibleWithOriginal)
        {
            // The query string is merged into the (empty) body's fields by the binder, as for every endpoint in this mode.
            app.MapGet("/auth", Login)
                .WithTags("auth")
                .WithSummary("The original's form of POST /auth: username and password in the query string (App:CompatibleWithOriginal).")
                .Answers<TokenData>(StatusCodes.Status401Unauthorized, StatusCodes.Status429TooManyRequests)
                .RequireRateLimiting(AuthRateLimit.PolicyName);
        }

        return app;
    }

    public static async Task<IResult> Login(HttpContext context, Logins logins, JwtTokens tokens, ILoggerFactory loggers)
    {
        var request = await Bound<Credentials>.ReadAsync(context, Credentials.Parse);
        if (request.Failure is not null)
        {
            return request.Failure;
        }

        var credentials = request.Value!;
        var username = await logins.CheckAsync(credentials.Username, credentials.Password, context.RequestAborted);
        if (username is null)
        {
            return ApiResults.Unauthorized(ApiCode.AuthFailed);
        }

        BlogLog.TokenIssued(loggers.CreateLogger(typeof(AuthEndpoints).FullName!), username);
        return ApiResults.Ok(new TokenData(tokens.Issue(username)));
    }
}
