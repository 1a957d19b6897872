using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Microsoft.Extensions.Options;

namespace Baton.Draining;

/// <summary>
/// Puts Baton's middleware in front of the app: request counting and <c>Connection: close</c> while draining, then,
/// when <see cref="BatonOptions.WriteTimeout"/> is set, the <see cref="WriteTimeout"/> that enforces it.
/// </summary>
internal sealed class DrainStartupFilter(DrainController drain, Kestrel.ConnectionTracker connections, IOptions<BatonOptions> options) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(next => context => HandleAsync(context, next));
        if (options.Value.WriteTimeout is { } timeout)
        {
            var writeTimeout = new WriteTimeout(timeout);
            app.Use(next => context => writeTimeout.InvokeAsync(context, next));
        }

        next(app);
    };

    // Not async: on the hot path (not draining, the app completes synchronously or not) this adds two interlocked
    // operations and no state machine.
    private Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        drain.RequestStarted();
        var movable = context.Features.Get<Kestrel.MovableConnection>();
        var leavesCleanBoundary = false;
        if (movable is not null)
        {
            // Only a plain HTTP/1.1 request without a body or an upgrade leaves the connection where the next byte the
            // client sends starts a new request - the only place a connection can move from.
            var plainHttp11 = !context.Request.IsHttps && HttpProtocol.IsHttp11(context.Request.Protocol);
            leavesCleanBoundary = plainHttp11 && context.Request.ContentLength is null or 0
                && !context.Request.Headers.ContainsKey(HeaderNames.TransferEncoding)
                && context.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true };
            movable.RequestStarted(plainHttp11, leavesCleanBoundary);
        }

        // A connection that moves to the successor once this response is out is not closed: the client keeps it, and
        // what it sends next is answered there.
        if (drain.IsDraining && movable?.WillMove(leavesCleanBoundary) != true)
        {
            if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
            {
                // The client learns on this very answer that the connection ends, and opens its next one to the
                // successor; nothing is closed under a request it is sending.
                context.Response.Headers.Connection = "close";
            }
            else
            {
                // HTTP/2: GOAWAY. The drain sent it when it began; this covers a connection whose preface came later.
                // A busy client would otherwise keep the connection, and this process, until HammerTime.
                connections.SendAway(context.Connection.Id);
            }
        }

        Task pending;
        try
        {
            pending = next(context);
        }
        catch
        {
            Ended(movable);
            throw;
        }

        if (pending.IsCompleted)
        {
            Ended(movable);
            return pending;
        }

        return AwaitAsync(pending, movable);
    }

    private void Ended(Kestrel.MovableConnection? movable)
    {
        movable?.RequestEnded();
        drain.RequestEnded();
    }

    private async Task AwaitAsync(Task pending, Kestrel.MovableConnection? movable)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        finally
        {
            Ended(movable);
        }
    }
}
