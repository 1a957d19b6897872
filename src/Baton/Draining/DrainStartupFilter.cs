using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Baton.Draining;

/// <summary>
/// Puts Baton's middleware in front of the app: request counting and <c>Connection: close</c> while draining, then
/// the request-timeouts middleware that enforces <see cref="BatonOptions.WriteTimeout"/>.
/// </summary>
internal sealed class DrainStartupFilter(DrainController drain) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(next => context => HandleAsync(context, next));
        app.UseRequestTimeouts();
        next(app);
    };

    private async Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        drain.RequestStarted();
        try
        {
            if (drain.IsDraining && (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol)))
            {
                // The client learns on this very answer that the connection ends, and opens its next one to the
                // successor; nothing is closed under a request it is sending.
                context.Response.Headers.Connection = "close";
            }

            await next(context).ConfigureAwait(false);
        }
        finally
        {
            drain.RequestEnded();
        }
    }
}
