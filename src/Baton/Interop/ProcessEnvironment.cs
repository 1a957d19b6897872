namespace Baton.Interop;

/// <summary>The process environment as native code sees it, not only .NET's managed copy of it.</summary>
internal static class ProcessEnvironment
{
    /// <summary>
    /// Removes a variable from both copies. <see cref="Environment.SetEnvironmentVariable(string, string)"/> changes
    /// only .NET's copy on Unix; a process started by native code (<c>system()</c>, a native library) would still
    /// see the variable in the C library's <c>environ</c>.
    /// </summary>
    public static void Unset(string name)
    {
        Environment.SetEnvironmentVariable(name, null);
        if (Libc.UnsetEnv(name) == -1)
        {
            throw PosixException.FromLastError($"unsetenv({name})");
        }
    }
}
