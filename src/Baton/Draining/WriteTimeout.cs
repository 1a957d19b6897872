using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;

namespace Baton.Draining;

/// <summary>
/// <see cref="BatonOptions.WriteTimeout"/>: a request still running after the timeout has its <c>RequestAborted</c>
/// cancelled and, if nothing was sent yet, is answered 504.
/// </summary>
/// <remarks>
/// Baton's middleware runs before routing, where the endpoint is not known yet, so whether the limit applies is decided
/// when it expires, by then with the endpoint at hand: an endpoint with its own timeout metadata (disabled, another
/// timeout, a policy) and a WebSocket request are left alone. The app can also lift the limit from a handler through
/// <see cref="IHttpRequestTimeoutFeature.DisableTimeout"/>, as with ASP.NET Core's request-timeouts middleware.
/// </remarks>
internal sealed class WriteTimeout(TimeSpan timeout)
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var clientAborted = context.RequestAborted;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(clientAborted);
        var feature = new TimeoutFeature(limit.Token);
        context.RequestAborted = limit.Token;
        context.Features.Set<IHttpRequestTimeoutFeature>(feature);
        using var timer = new Timer(
            static state =>
            {
                var (context, feature, limit) = ((HttpContext, TimeoutFeature, CancellationTokenSource))state!;
                if (!feature.Disabled && !IsExempt(context))
                {
                    feature.Expired = true;
                    try
                    {
                        limit.Cancel();
                    }
                    catch (ObjectDisposedException)
                    {
                        // The request ended in the meantime.
                    }
                }
            },
            (context, feature, limit),
            timeout,
            Timeout.InfiniteTimeSpan);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (feature.Expired && !clientAborted.IsCancellationRequested)
        {
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status504GatewayTimeout;
            }
        }
        finally
        {
            context.RequestAborted = clientAborted;
        }
    }

    private static bool IsExempt(HttpContext context)
    {
        if (context.WebSockets.IsWebSocketRequest)
        {
            return true;
        }

        var metadata = context.GetEndpoint()?.Metadata;
        return metadata is not null
            && (metadata.GetMetadata<DisableRequestTimeoutAttribute>() is not null
                || metadata.GetMetadata<RequestTimeoutAttribute>() is not null
                || metadata.GetMetadata<RequestTimeoutPolicy>() is not null);
    }

    private sealed class TimeoutFeature(CancellationToken token) : IHttpRequestTimeoutFeature
    {
        private volatile bool _disabled;

        public volatile bool Expired;

        public bool Disabled => _disabled;

        public CancellationToken RequestTimeoutToken => token;

        public void DisableTimeout() => _disabled = true;
    }
}
