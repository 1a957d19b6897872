using Baton.Kestrel;
using Microsoft.AspNetCore.Http;

namespace Baton;

/// <summary>What Baton tells a request handler about the request.</summary>
public static class BatonHttpContextExtensions
{
    /// <summary>
    /// True for a request Baton's warm-up sent (see <see cref="BatonOptions.WarmUp"/>): a new process driving its own
    /// pipeline before it serves. A handler with side effects (a write, a message sent, a log line an operator counts)
    /// can answer it without them. A client cannot make a request look like one: the mark is the connection's, not a
    /// header.
    /// </summary>
    /// <param name="context">The request's context.</param>
    /// <returns>Whether the request is a warm-up request.</returns>
    public static bool IsBatonWarmUp(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Connection.Id.StartsWith(WarmUp.ConnectionIdPrefix, StringComparison.Ordinal);
    }
}
