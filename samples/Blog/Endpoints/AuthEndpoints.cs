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
            .AcceptsFormOrJson<Credentials>()
            .Answers<TokenData>(StatusCodes.Status401Unauthorized);
        return app;
    }

    public static async Task<IResult> Login(HttpContext context, BlogStore store, JwtTokens tokens, ILoggerFactory loggers)
    {
        var request = await Bound<Credentials>.ReadAsync(context, Credentials.Parse);
        if (request.Failure is not null)
        {
            return request.Failure;
        }

        var credentials = request.Value!;
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
