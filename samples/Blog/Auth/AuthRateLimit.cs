using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Blog.Api;
using Blog.Options;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Blog.Auth;

/// <summary>
/// The rate limit on <c>/auth</c>, per client address: every attempt costs a PBKDF2 run (600,000 iterations), so a
/// client that guesses passwords is stopped after App:AuthRateLimit:PermitLimit attempts in an App:AuthRateLimit:Window
/// (fixed windows, the first starting at the client's first attempt), with 429 and code 429 in the envelope, and a
/// Retry-After header with the window's length: the limiter's figure, a bound (the count resets within it).
/// </summary>
/// <remarks>
/// Fixed rather than sliding windows because the fixed window limiter says when to retry (the sliding one gives no
/// Retry-After); the price is that a client can fit up to twice the limit around a window's end. The count is kept in the process: a
/// handover starts the successor with fresh counts. Behind a reverse proxy every client has the proxy's address, so
/// the limit is shared unless forwarded headers are configured.
/// </remarks>
internal sealed class AuthRateLimit(IOptions<AppOptions> app) : IConfigureOptions<RateLimiterOptions>
{
    public const string PolicyName = "auth";

    public void Configure(RateLimiterOptions options)
    {
        var limit = app.Value.AuthRateLimit;
        options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        options.OnRejected = static (context, _) =>
        {
            if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
            {
                context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            return new ValueTask(ApiResults.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, ApiCode.TooManyRequests));
        };
        options.AddPolicy(PolicyName, context => RateLimitPartition.GetFixedWindowLimiter(ClientKey(context), _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = limit.PermitLimit,
            Window = limit.Window,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>The client's address; an IPv6 client by its /64, which one host can hand out to itself at will.</summary>
    public static string ClientKey(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
