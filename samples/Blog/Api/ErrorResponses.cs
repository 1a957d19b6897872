using Microsoft.AspNetCore.Diagnostics;

namespace Blog.Api;

/// <summary>
/// Makes every error an envelope: an exception becomes 500 (or the status a bad request carries) without an
/// exception page, and a bare status from routing (404, 405) gets a body. Kestrel's own rejections before the app
/// runs (431 for headers over Baton:MaxHeaderBytes) stay as Kestrel sends them.
/// </summary>
internal static class ErrorResponses
{
    public static WebApplication UseEnvelopeErrors(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = HandleExceptionAsync });
        app.UseStatusCodePages(static context =>
            ApiResults.WriteAsync(context.HttpContext, context.HttpContext.Response.StatusCode, ApiCodes.ForStatus(context.HttpContext.Response.StatusCode)));
        return app;
    }

    private static Task HandleExceptionAsync(HttpContext context)
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        if (exception is BadHttpRequestException bad)
        {
            return ApiResults.WriteAsync(context, bad.StatusCode, ApiCodes.ForStatus(bad.StatusCode));
        }

        // The exception handler middleware has logged the exception already.
        return ApiResults.WriteAsync(context, StatusCodes.Status500InternalServerError, ApiCode.Error);
    }
}
