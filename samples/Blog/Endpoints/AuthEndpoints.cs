using Blog.Api;
using Blog.Auth;

namespace Blog.Endpoints;

/// <summary><c>POST /auth</c>: username and password for a token, a limited number of times per client.</summary>
internal static class AuthEndpoints
{
    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/auth", Login)
            .WithTags("auth")
            .WithSummary("Exchange a username and password for a token (valid for App:TokenLifetime); rate-limited per client (App:AuthRateLimit).")
            .AcceptsFormOrJson<Credentials>()
            .Answers<TokenData>(StatusCodes.Status401Unauthorized, StatusCodes.Status429TooManyRequests)
            .RequireRateLimiting(AuthRateLimit.PolicyName);
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
