using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Baton.Hosting;

/// <summary>
/// Compiles, under the JIT, the generic code an async method of Baton's runs through: the method builder's
/// <c>Start</c> and <c>AwaitUnsafeOnCompleted</c>, and the box its state machine moves into at its first await - each
/// instantiated over the method's own state machine (a struct), so each is compiled for that method alone, at its
/// first call. Preparing the state machine's <c>MoveNext</c> does not reach them. A process's handover methods run once
/// in its life: traced, this code was half of what the old process compiled after the SIGHUP (131 methods, 18 ms).
/// </summary>
/// <remarks>
/// The builders' inner parts (the box, <c>AsyncMethodBuilderCore</c>) are private to the runtime and are found by name.
/// Where a runtime names them otherwise, they are left out, and compiled at their first call as without this.
/// </remarks>
internal static class AsyncPreparation
{
    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>
    /// Prepares what <paramref name="stateMachine"/> (a compiler-made <see cref="IAsyncStateMachine"/>) runs through;
    /// returns how many methods.
    /// </summary>
    public static int Prepare(Type stateMachine)
    {
        try
        {
            return PrepareMachinery(stateMachine);
        }
        catch (Exception ex) when (ex is AmbiguousMatchException or ArgumentException or InvalidOperationException or NotSupportedException or TypeLoadException or BadImageFormatException)
        {
            // A runtime whose builders are made otherwise: their code is compiled at its first call, as without this.
            return 0;
        }
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Under the JIT only; a member the trimmer removed is never called, and is not asked for.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Same.")]
    [UnconditionalSuppressMessage("Trimming", "IL2060", Justification = "Same.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Under the JIT only (CodePreparation.IsUseful).")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Runtime types found by name under the JIT only; one not found is left out.")]
    private static int PrepareMachinery(Type stateMachine)
    {
        if (!CodePreparation.IsUseful || stateMachine.ContainsGenericParameters || !typeof(IAsyncStateMachine).IsAssignableFrom(stateMachine)
            || stateMachine.GetField("<>t__builder", Everything)?.FieldType is not { } builder)
        {
            return 0;
        }

        // What the method awaits: the compiler keeps each kind of awaiter in a field of its own ("<>u__1", ...).
        var awaiters = stateMachine.GetFields(Everything).Where(f => f.Name.StartsWith("<>u__", StringComparison.Ordinal)).Select(f => f.FieldType).Distinct().ToList();
        var prepared = 0;

        // The builder's own generic methods.
        prepared += PrepareGeneric(builder.GetMethod("Start", BindingFlags.Public | BindingFlags.Instance), stateMachine);
        foreach (var awaiter in awaiters)
        {
            var onCompleted = typeof(ICriticalNotifyCompletion).IsAssignableFrom(awaiter) ? "AwaitUnsafeOnCompleted" : "AwaitOnCompleted";
            prepared += PrepareGeneric(builder.GetMethod(onCompleted, BindingFlags.Public | BindingFlags.Instance), awaiter, stateMachine);
        }

        prepared += PrepareGeneric(typeof(AsyncTaskMethodBuilder).Assembly.GetType("System.Runtime.CompilerServices.AsyncMethodBuilderCore")?.GetMethod("Start", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static), stateMachine);

        // Task-returning builders (Task, Task<T>, ValueTask, ValueTask<T>, async void) all keep the state machine in
        // AsyncTaskMethodBuilder<TResult>'s box; the pooling builder has a box of its own.
        if (TaskResultOf(builder) is { } result)
        {
            var inner = typeof(AsyncTaskMethodBuilder<>).MakeGenericType(result);
            prepared += PrepareGeneric(inner.GetMethod("GetStateMachineBox", BindingFlags.NonPublic | BindingFlags.Static), stateMachine);
            foreach (var awaiter in awaiters)
            {
                var onCompleted = inner.GetMethods(BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Static)
                    .FirstOrDefault(m => m.Name == "AwaitUnsafeOnCompleted" && m.IsGenericMethodDefinition && m.GetParameters().Length == 3);
                prepared += PrepareGeneric(onCompleted, awaiter, stateMachine);
            }

            prepared += PrepareBox(typeof(AsyncTaskMethodBuilder<>).GetNestedType("AsyncStateMachineBox`1", BindingFlags.NonPublic), result, stateMachine);
        }
        else if (builder.IsGenericType && builder.GetGenericTypeDefinition() == typeof(PoolingAsyncValueTaskMethodBuilder<>))
        {
            prepared += PrepareBox(typeof(PoolingAsyncValueTaskMethodBuilder<>).GetNestedType("StateMachineBox`1", BindingFlags.NonPublic), builder.GetGenericArguments()[0], stateMachine);
        }

        return prepared;
    }

    /// <summary>The TResult of the AsyncTaskMethodBuilder&lt;TResult&gt; a builder keeps its state machine in.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "A runtime type found by name under the JIT only; not found, nothing is prepared.")]
    private static Type? TaskResultOf(Type builder)
    {
        if (builder == typeof(AsyncTaskMethodBuilder) || builder == typeof(AsyncValueTaskMethodBuilder) || builder == typeof(AsyncVoidMethodBuilder))
        {
            return typeof(Task).Assembly.GetType("System.Threading.Tasks.VoidTaskResult");
        }

        if (builder.IsGenericType && (builder.GetGenericTypeDefinition() == typeof(AsyncTaskMethodBuilder<>) || builder.GetGenericTypeDefinition() == typeof(AsyncValueTaskMethodBuilder<>)))
        {
            return builder.GetGenericArguments()[0];
        }

        return null;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2055", Justification = "Under the JIT only.")]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Under the JIT only.")]
    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Under the JIT only.")]
    private static int PrepareBox(Type? box, Type result, Type stateMachine)
    {
        if (box is null)
        {
            return 0;
        }

        try
        {
            var closed = box.MakeGenericType(result, stateMachine);
            return closed.GetMethods(Everything).Cast<MethodBase>().Concat(closed.GetConstructors(Everything)).Sum(m => PrepareOne(m));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or TypeLoadException)
        {
            return 0;
        }
    }

    [UnconditionalSuppressMessage("AOT", "IL3050", Justification = "Under the JIT only.")]
    [UnconditionalSuppressMessage("Trimming", "IL2060", Justification = "Under the JIT only; arguments that do not meet a constraint are refused and skipped.")]
    private static int PrepareGeneric(MethodInfo? method, params Type[] arguments)
    {
        if (method is null || !method.IsGenericMethodDefinition || method.GetGenericArguments().Length != arguments.Length)
        {
            return 0;
        }

        try
        {
            return PrepareOne(method.MakeGenericMethod(arguments));
        }
        catch (ArgumentException)
        {
            // A constraint the arguments do not meet: not a method this state machine runs through.
            return 0;
        }
    }

    private static int PrepareOne(MethodBase method)
    {
        if (method.IsAbstract || method.ContainsGenericParameters)
        {
            return 0;
        }

        try
        {
            _ = method.MethodHandle.GetFunctionPointer();
            RuntimeHelpers.PrepareMethod(method.MethodHandle);
            return 1;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or BadImageFormatException or TypeLoadException)
        {
            return 0;
        }
    }
}
