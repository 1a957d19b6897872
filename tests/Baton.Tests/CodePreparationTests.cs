using System.Runtime;
using System.Runtime.CompilerServices;
using Baton.Hosting;
using Baton.Kestrel;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Baton.Tests;

public sealed class CodePreparationTests
{
    [Fact]
    public void Every_method_of_a_type_and_of_its_nested_types_is_compiled()
    {
        // MovableConnection has async methods (state machines are nested types) and lambdas (a nested closure class):
        // more methods than it declares itself.
        var declared = typeof(MovableConnection).GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic
            | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.DeclaredOnly).Length;

        Assert.True(CodePreparation.IsUseful, "the tests run under the JIT");
        Assert.True(CodePreparation.Prepare(typeof(MovableConnection)) > declared);
    }

    [Fact]
    public void A_method_only_an_interface_reaches_is_compiled_ahead_of_its_first_call()
    {
        // The same shape, one type prepared and one not: the one not prepared shows that a first call is measured.
        Assert.Equal(1, FirstCallCompiles(new UnpreparedProbe()));

        CodePreparation.Prepare(typeof(PreparedProbe));

        Assert.Equal(0, FirstCallCompiles(new PreparedProbe()));
    }

    [Fact]
    public void An_interfaces_default_method_is_compiled_ahead_of_its_first_call()
    {
        CodePreparation.Prepare(typeof(IDefaultProbe));

        IDefaultProbe probe = new DefaultProbe();
        var before = JitInfo.GetCompiledMethodCount(currentThread: true);
        var answer = probe.Answer(2);
        Assert.Equal(0, JitInfo.GetCompiledMethodCount(currentThread: true) - before);
        Assert.Equal(7, answer);
    }

    [Fact]
    public void All_of_Batons_code_compiles_without_an_error()
    {
        var (methods, elapsed) = CodePreparation.PrepareAll();

        Assert.True(methods > 1000, $"{methods} method(s)");
        Assert.True(elapsed > TimeSpan.Zero);
    }

    [Fact]
    public async Task The_background_preparation_reports_what_it_compiled()
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        CodePreparation.PrepareAllInBackground(TimeSpan.Zero, (methods, _) => done.TrySetResult(methods));

        Assert.True(await done.Task.WaitAsync(TimeSpan.FromSeconds(60)) > 1000);
    }

    [Fact]
    public void A_log_message_sent_through_unwritten_has_its_first_real_use_compiled_and_nothing_is_written()
    {
        // Each message's arguments are a value type of their own, and a provider's Log<TState> is compiled for it at the
        // message's first use. Two providers of the same shape, one prepared and one not (a warning with a signature no
        // other message has, and that no other test uses).
        var unprepared = new Recorder<Unprepared>();
        using (var factory = LoggerFactory.Create(logging => logging.AddProvider(unprepared).SetMinimumLevel(LogLevel.Warning)))
        {
            Assert.True(FirstUseCompiles(factory.CreateLogger("Baton")) > 0);
        }

        var prepared = new Recorder<Prepared>();
        using (var factory = LoggerFactory.Create(logging => logging.AddProvider(prepared).SetMinimumLevel(LogLevel.Warning)))
        {
            var logger = factory.CreateLogger("Baton");
            var (messages, _) = LogPreparation.PrepareWrittenMessages(logger);
            Assert.True(messages > 10, $"{messages} message(s)");
            Assert.Empty(prepared.Lines);

            Assert.Equal(0, FirstUseCompiles(logger));
        }

        Assert.Equal(["Process 7 refused a control connection from process 8: user 9 is not this server's user"], prepared.Lines);
        Assert.Equal(prepared.Lines, unprepared.Lines);
    }

    [Fact]
    public async Task An_async_methods_builder_code_over_its_state_machine_is_compiled_ahead_of_its_first_call()
    {
        // Up to its first await, a call compiles the builder's Start and AwaitUnsafeOnCompleted and the box its state
        // machine moves into, all instantiated over that state machine; preparing MoveNext does not reach them. The
        // unprepared one first: it also compiles what both share (Task<int>'s awaiter).
        Assert.True(await FirstAsyncCallCompiles(UnpreparedAsyncProbe.AddOneAsync) > 0);

        CodePreparation.Prepare(typeof(PreparedAsyncProbe));

        Assert.Equal(0, await FirstAsyncCallCompiles(PreparedAsyncProbe.AddOneAsync));
    }

    /// <summary>How many methods the JIT compiled on this thread for an async call up to its first await.</summary>
    private static async Task<long> FirstAsyncCallCompiles(Func<Task<int>, Task<int>> addOne)
    {
        var value = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var before = JitInfo.GetCompiledMethodCount(currentThread: true);
        var running = addOne(value.Task);
        var compiled = JitInfo.GetCompiledMethodCount(currentThread: true) - before;
        value.SetResult(3);
        Assert.Equal(4, await running);
        return compiled;
    }

    private static class PreparedAsyncProbe
    {
        public static async Task<int> AddOneAsync(Task<int> value) => await value.ConfigureAwait(false) + 1;
    }

    private static class UnpreparedAsyncProbe
    {
        public static async Task<int> AddOneAsync(Task<int> value) => await value.ConfigureAwait(false) + 1;
    }

    private static long FirstUseCompiles(ILogger logger)
    {
        var before = JitInfo.GetCompiledMethodCount(currentThread: true);
        Log.ControlRefused(logger, 7, 8, 9);
        return JitInfo.GetCompiledMethodCount(currentThread: true) - before;
    }

    /// <summary>How many methods the JIT compiled on this thread for the first call of <see cref="IProbe.Answer"/>.</summary>
    private static long FirstCallCompiles(IProbe probe)
    {
        var before = JitInfo.GetCompiledMethodCount(currentThread: true);
        var answer = probe.Answer(2);
        var compiled = JitInfo.GetCompiledMethodCount(currentThread: true) - before;
        Assert.Equal(7, answer);
        return compiled;
    }

    /// <summary>
    /// A log provider that keeps what it is asked to write, and writes nothing at LogLevel.None (as every provider).
    /// Each <typeparamref name="TTag"/> (a struct) makes a type whose generic methods are compiled apart.
    /// </summary>
    private sealed class Recorder<TTag> : ILoggerProvider, ILogger
        where TTag : struct
    {
        public List<string> Lines { get; } = [];

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Lines.Add(formatter(state, exception));
            }
        }

        public void Dispose()
        {
        }
    }

    private struct Prepared;

    private struct Unprepared;

    private interface IDefaultProbe
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        int Answer(int x) => (x * 3) + 1;
    }

    private sealed class DefaultProbe : IDefaultProbe;

    private interface IProbe
    {
        int Answer(int x);
    }

    private sealed class PreparedProbe : IProbe
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public int Answer(int x) => (x * 3) + 1;
    }

    private sealed class UnpreparedProbe : IProbe
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public int Answer(int x) => (x * 3) + 1;
    }
}
