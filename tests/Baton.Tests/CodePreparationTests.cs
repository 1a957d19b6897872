using System.Runtime;
using System.Runtime.CompilerServices;
using Baton.Hosting;
using Baton.Kestrel;
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

    /// <summary>How many methods the JIT compiled on this thread for the first call of <see cref="IProbe.Answer"/>.</summary>
    private static long FirstCallCompiles(IProbe probe)
    {
        var before = JitInfo.GetCompiledMethodCount(currentThread: true);
        var answer = probe.Answer(2);
        var compiled = JitInfo.GetCompiledMethodCount(currentThread: true) - before;
        Assert.Equal(7, answer);
        return compiled;
    }

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
