using Blog.Api;

namespace Blog.Auth;

/// <summary>
/// Guards a route group with the API token: <c>Authorization: Bearer &lt;token&gt;</c>, or the original's
/// <c>?token=</c>. As the original: a missing token gets 401 with code 400 (invalid params), a bad one 401 with code
/// 20001, an expired one 401 with code 20002.
/// </summary>
internal static class TokenFilter
{
    public const string SubjectItem = "blog.subject";

    public static RouteGroupBuilder RequireToken(this RouteGroupBuilder group)
    {
        group.AddEndpointFilter(static async (context, next) =>
        {
            var http = context.HttpContext;
            var token = Find(http.Request);
            if (token is null)
            {
                return ApiResults.Fail(StatusCodes.Status401Unauthorized, ApiCode.InvalidParams,
                    new Dictionary<string, string>(StringComparer.Ordinal) { ["token"] = "is required: send the header Authorization: Bearer TOKEN, or the query parameter token=TOKEN" });
            }

            var check = http.RequestServices.GetRequiredService<JwtTokens>().Check(token);
            if (check.Status != TokenStatus.Valid)
            {
                BlogLog.TokenRefused(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TokenFilter).FullName!), http.Request.Path, check.Reason ?? "");
                return ApiResults.Unauthorized(check.Status == TokenStatus.Expired ? ApiCode.TokenExpired : ApiCode.TokenInvalid);
            }

            http.Items[SubjectItem] = check.Subject;
            return await next(context);
        });
        return group;
    }

    /// <summary>The token a request carries: the bearer credential first, then the <c>token</c> query parameter.</summary>
    public static string? Find(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        if (authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            var credential = authorization[Bearer.Length..].Trim();
            if (credential.Length > 0)
            {
                return credential;
            }
        }

        var query = request.Query["token"].ToString();
        return query.Length > 0 ? query : null;
    }
}
