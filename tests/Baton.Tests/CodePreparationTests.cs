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
}
