using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Baton.Hosting;

/// <summary>
/// Sends each of Baton's log messages that a logger would write once through the logger's own pipeline,
/// unwritten, under the JIT. Each message's arguments make a value type of their own (<c>LogValues&lt;int, int, long&gt;</c>),
/// and every generic method it passes through - the logger's <c>Log&lt;TState&gt;</c>, each provider's, the formatting -
/// is compiled for that type at the message's first use. A handover's messages are used once in a process's life, at
/// its handover: traced, they were a fifth of what the old process compiled after the SIGHUP, and over a quarter of
/// what the new one compiled in its first 60 ms of serving.
/// </summary>
internal static class LogPreparation
{
    /// <summary>Returns how many messages went through, and how long it took.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2072", Justification = "The value types are those of Log's own parameters, which the trimmer keeps with Log's methods.")]
    public static (int Messages, TimeSpan Elapsed) PrepareWrittenMessages(ILogger logger)
    {
        if (!CodePreparation.IsUseful)
        {
            return (0, TimeSpan.Zero);
        }

        var started = Stopwatch.GetTimestamp();
        var unwritten = new UnwrittenLogger(logger);
        var prepared = 0;
        foreach (var method in typeof(Log).GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
        {
            var parameters = method.GetParameters();
            if (method.GetCustomAttribute<LoggerMessageAttribute>() is not { } message || !logger.IsEnabled(message.Level)
                || method.ContainsGenericParameters || parameters.Length == 0 || parameters[0].ParameterType != typeof(ILogger))
            {
                continue;
            }

            try
            {
                var arguments = new object?[parameters.Length];
                arguments[0] = unwritten;
                for (var i = 1; i < parameters.Length; i++)
                {
                    var type = parameters[i].ParameterType;
                    arguments[i] = type.IsValueType ? RuntimeHelpers.GetUninitializedObject(type) : null;
                }

                _ = method.Invoke(null, arguments);
                prepared++;
            }
            catch (Exception ex) when (ex is TargetInvocationException or ArgumentException or NotSupportedException or MemberAccessException)
            {
                // A message that cannot take default arguments (or a provider that threw) is compiled at its first real
                // use, as without this.
            }
        }

        return (prepared, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// Passes each message on at <see cref="LogLevel.None"/> - "not used for writing log messages": the logger's
    /// <c>Log&lt;TState&gt;</c> and each provider's take the call and write nothing - and formats it, which is what a
    /// provider would do next.
    /// </summary>
    private sealed class UnwrittenLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            inner.Log(LogLevel.None, eventId, state, exception, formatter);
            _ = formatter(state, exception);
        }
    }
}
