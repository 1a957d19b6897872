using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
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
        if (drain.IsDraining)
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
            drain.RequestEnded();
            throw;
        }

        if (pending.IsCompleted)
        {
            drain.RequestEnded();
            return pending;
        }

        return AwaitAsync(pending);
    }

    private async Task AwaitAsync(Task pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        finally
        {
            drain.RequestEnded();
        }
    }
}
