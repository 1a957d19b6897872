using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Baton.Interop;

namespace Baton.Hosting;

/// <summary>
/// Compiles Baton's own code ahead of its first call, under the JIT. A process runs its handover code once in its life
/// - the handshake, stopping accepting, moving connections, the drain - and each method is compiled at its first call,
/// right in the moment every client is being passed on: a handover under load showed 14 ms between "go" and the old
/// process stopping accepting, and 20 ms before its first connection moved, while requests on those connections wait.
/// Compiled beforehand, a second after the process began serving, that moment costs only the work itself.
/// </summary>
/// <remarks>Nothing to do under NativeAOT, where everything was compiled at publish.</remarks>
internal static class CodePreparation
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Whether there is anything to compile: false under NativeAOT.</summary>
    public static bool IsUseful => RuntimeFeature.IsDynamicCodeCompiled;

    /// <summary>
    /// Compiles every non-generic method of Baton's types, nested ones too (lambdas, async state machines), and the
    /// libc calls' marshalling stubs; returns how many methods, and how long it took.
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Only compiles what the app kept: a type the trimmer removed is one nothing calls, and is not asked for.")]
    public static (int Methods, TimeSpan Elapsed) PrepareAll()
    {
        if (!IsUseful)
        {
            return (0, TimeSpan.Zero);
        }

        var started = Stopwatch.GetTimestamp();
        var prepared = typeof(CodePreparation).Assembly.GetTypes().Where(t => !t.IsNested).Sum(Prepare);
        Marshal.PrelinkAll(typeof(Libc));
        return (prepared, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// Runs <see cref="PrepareAll"/> on a thread of its own after <paramref name="delay"/>; <paramref name="done"/> gets
    /// the figures.
    /// </summary>
    /// <remarks>
    /// Not at a lower priority: the thread holds the JIT's lock on each method while it compiles it, and a request that
    /// needs that method meanwhile waits for it. At nice 19 on busy cores that thread gets next to no CPU, and the wait
    /// would be the lowered thread's, not the compilation's.
    /// </remarks>
    public static void PrepareAllInBackground(TimeSpan delay, Action<int, TimeSpan> done)
    {
        if (!IsUseful)
        {
            return;
        }

        new Thread(() =>
        {
            Thread.Sleep(delay);
            var (methods, elapsed) = PrepareAll();
            done(methods, elapsed);
        })
        { IsBackground = true, Name = "Baton code preparation" }.Start();
    }

    /// <summary>Compiles the methods of <paramref name="type"/> and of its nested types; returns how many.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Methods the trimmer removed are never called, and so never need compiling.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Same, for nested types.")]
    public static int Prepare(Type type)
    {
        // Interfaces too: an interface's default members (IBatonObserver's) have code of their own.
        if (!IsUseful || type.ContainsGenericParameters)
        {
            return 0;
        }

        var prepared = 0;
        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (method.IsAbstract || method.ContainsGenericParameters
                || (method.MethodImplementationFlags & MethodImplAttributes.InternalCall) != 0
                || (method.Attributes & MethodAttributes.PinvokeImpl) != 0)
            {
                continue;
            }

            try
            {
                // An entry point first: without one, PrepareMethod leaves a method alone that only an interface's
                // dispatch reaches (every IBatonObserver and ISuccessorProcess member), and it is compiled at its
                // first call after all - in the handover. Taking the address makes the runtime create one.
                _ = method.MethodHandle.GetFunctionPointer();
                RuntimeHelpers.PrepareMethod(method.MethodHandle);
                prepared++;
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or BadImageFormatException or TypeLoadException)
            {
                // One that cannot be compiled on its own is compiled at its first call, as without this.
            }
        }

        // An async method's state machine: also the builder's generic code instantiated over it.
        prepared += AsyncPreparation.Prepare(type);

        foreach (var nested in type.GetNestedTypes(BindingFlags.NonPublic | BindingFlags.Public))
        {
            prepared += Prepare(nested);
        }

        return prepared;
    }
}
