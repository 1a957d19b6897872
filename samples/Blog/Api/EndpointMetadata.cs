namespace Blog.Api;

/// <summary>The OpenAPI metadata the endpoints share: what they accept and which envelopes they answer with.</summary>
internal static class EndpointMetadata
{
    /// <summary>A write endpoint: a form or JSON body shaped as <typeparamref name="TRequest"/>.</summary>
    public static RouteHandlerBuilder AcceptsFormOrJson<TRequest>(this RouteHandlerBuilder builder)
        where TRequest : notnull =>
        builder.Accepts<TRequest>("application/json", "application/x-www-form-urlencoded", "multipart/form-data");

    /// <summary>200 with <typeparamref name="TData"/>, 400 with the field errors, and each of <paramref name="failures"/> with no data.</summary>
    public static RouteHandlerBuilder Answers<TData>(this RouteHandlerBuilder builder, params int[] failures)
    {
        builder.Produces<Envelope<TData>>().Produces<Envelope<ErrorData>>(StatusCodes.Status400BadRequest);
        foreach (var status in failures)
        {
            builder.Produces<Envelope<EmptyData>>(status);
        }

        return builder;
    }
}
