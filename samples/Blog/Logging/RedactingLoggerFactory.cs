using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Blog.Logging;

/// <summary>
/// Keeps secret query values out of every log line, whatever logs them and at whatever level: ASP.NET Core's hosting
/// diagnostics log each request's path <em>with its query string</em> ("Request starting ... ?token=...", Information,
/// Microsoft.AspNetCore.Hosting.Diagnostics), and the original's clients send their token, and in the compatible mode
/// their password, there. Turning that category down would hide the request log; this keeps it, redacted.
/// </summary>
/// <remarks>
/// It wraps the host's logger factory, so the configured filters, providers and formatters work as before; each line
/// that is written has its message, its structured values and its exception text redacted by
/// <see cref="QueryRedaction"/>. Scopes pass through as they are (the hosting scope carries the path, not the query).
/// </remarks>
internal static class LogRedaction
{
    public static IServiceCollection AddQuerySecretRedaction(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(static provider => new RedactingLoggerFactory(new LoggerFactory(
            provider.GetServices<ILoggerProvider>(),
            provider.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            provider.GetService<IOptions<LoggerFactoryOptions>>(),
            provider.GetService<IExternalScopeProvider>()))));
        return services;
    }
}

internal sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();
}

internal sealed class RedactingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!inner.IsEnabled(logLevel))
        {
            return;
        }

        var message = formatter(state, exception);
        var redactedMessage = QueryRedaction.Redact(message);
        var redactedValues = RedactValues(state);
        var redactedException = RedactException(exception);
        if (ReferenceEquals(redactedMessage, message) && redactedValues is null && redactedException is null)
        {
            // Nothing secret: the original state goes on (structured providers see it as it was), formatted once.
            inner.Log(logLevel, eventId, state, exception, (_, _) => message);
            return;
        }

        inner.Log(logLevel, eventId, new RedactedState(redactedMessage, redactedValues ?? Values(state)), redactedException ?? exception, RedactedState.Format);
    }

    /// <summary>The state's values with secrets redacted, or null when none had one.</summary>
    private static List<KeyValuePair<string, object?>>? RedactValues<TState>(TState state)
    {
        if (state is not IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            return null;
        }

        List<KeyValuePair<string, object?>>? redacted = null;
        for (var i = 0; i < values.Count; i++)
        {
            var (key, value) = values[i];
            var text = value switch
            {
                string s => s,
                null or IConvertible => null, // numbers, dates, enums: nothing to hide
                _ => value.ToString(),
            };
            if (text is not null && QueryRedaction.Redact(text) is var clean && !ReferenceEquals(clean, text))
            {
                redacted ??= [.. values];
                redacted[i] = new KeyValuePair<string, object?>(key, clean);
            }
        }

        return redacted;
    }

    private static List<KeyValuePair<string, object?>> Values<TState>(TState state) =>
        state is IReadOnlyList<KeyValuePair<string, object?>> values ? [.. values] : [];

    private static RedactedException? RedactException(Exception? exception)
    {
        if (exception is null)
        {
            return null;
        }

        var text = exception.ToString();
        var clean = QueryRedaction.Redact(text);
        return ReferenceEquals(clean, text) ? null : new RedactedException(QueryRedaction.Redact(exception.Message), clean);
    }

    /// <summary>A log line's state after redaction: the message, and the structured values.</summary>
    private sealed class RedactedState(string message, List<KeyValuePair<string, object?>> values) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public static readonly Func<RedactedState, Exception?, string> Format = static (state, _) => state.Message;

        public string Message => message;

        public int Count => values.Count;

        public KeyValuePair<string, object?> this[int index] => values[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => values.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => Message;
    }
}

/// <summary>Stands in for an exception whose text held a secret: the same text, redacted.</summary>
#pragma warning disable CA1032, CA1064 // Never thrown or caught; only written to a log.
internal sealed class RedactedException(string message, string text) : Exception(message)
#pragma warning restore CA1032, CA1064
{
    public override string ToString() => text;
}
