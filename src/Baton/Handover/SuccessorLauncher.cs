using System.Text;
using Baton.Interop;

namespace Baton.Handover;

/// <summary>A successor process as the handover sees it; faked in unit tests.</summary>
internal interface ISuccessorProcess : IDisposable
{
    int Pid { get; }

    /// <summary>The next line from the handshake pipe; <see cref="HandshakeRead.EndOfFile"/> once it is closed; <see cref="HandshakeRead.Nothing"/> when nothing came in time.</summary>
    HandshakeRead Read(TimeSpan timeout);

    void Kill();

    ChildExit? TryReap();

    /// <summary>What the successor last wrote to standard error, summarized; null when nothing useful.</summary>
    string? LastWords();
}

/// <summary>Starts successors; faked in unit tests.</summary>
internal interface IProcessLauncher
{
    ISuccessorProcess Start(IReadOnlyList<InheritedListener> listeners, int generation);

    /// <summary>Asks a successor that already took over to stop gracefully (SIGTERM).</summary>
    void RequestStop(int pid);
}

internal readonly record struct HandshakeRead(string? Line, bool IsEndOfFile)
{
    public static readonly HandshakeRead Nothing = new(null, false);
    public static readonly HandshakeRead EndOfFile = new(null, true);
}

/// <summary>How a handover attempt ended.</summary>
internal abstract record HandoverOutcome(TimeSpan Elapsed);

internal sealed record HandoverSucceeded(int Pid, int Generation, TimeSpan Elapsed) : HandoverOutcome(Elapsed);

internal sealed record HandoverFailed(int? Pid, string Reason, TimeSpan Elapsed) : HandoverOutcome(Elapsed);

/// <summary>
/// Starts one successor and waits for its verdict: "ready" on the handshake pipe, or its failure (a "failed" line,
/// the pipe closing because it died, or no word before the ready timeout, after which it is killed). A failed
/// successor is always reaped, so no zombie is left behind.
/// </summary>
internal sealed class SuccessorLauncher(IProcessLauncher launcher, TimeProvider time)
{
    private static readonly TimeSpan PollSlice = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(5);

    public Action<int>? Started { get; set; }

    public void RequestStop(int pid) => launcher.RequestStop(pid);

    public HandoverOutcome Run(IReadOnlyList<InheritedListener> listeners, int generation, TimeSpan readyTimeout, CancellationToken cancel)
    {
        var start = time.GetTimestamp();
        ISuccessorProcess child;
        try
        {
            child = launcher.Start(listeners, generation);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return new HandoverFailed(null, "the new process could not be started: " + ex.Message, time.GetElapsedTime(start));
        }

        using (child)
        {
            try
            {
                return AwaitVerdict(child, start, readyTimeout, cancel);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Whatever broke while waiting (a failed read of the pipe), the old process must come out of it serving
                // and able to try again: the child goes, the state goes back.
                var exit = KillAndReap(child);
                return new HandoverFailed(child.Pid, $"waiting for new process {child.Pid} failed ({ex.GetType().Name}: {ex.Message}); it was killed ({exit})", time.GetElapsedTime(start));
            }
        }
    }

    private HandoverOutcome AwaitVerdict(ISuccessorProcess child, long start, TimeSpan readyTimeout, CancellationToken cancel)
    {
        Started?.Invoke(child.Pid);
        while (true)
        {
            var remaining = readyTimeout - time.GetElapsedTime(start);
            if (remaining <= TimeSpan.Zero)
            {
                var exit = KillAndReap(child);
                return new HandoverFailed(child.Pid, $"new process {child.Pid} was not ready within {readyTimeout.TotalSeconds:0.###} s; it was killed ({exit}){LastWords(child)}", time.GetElapsedTime(start));
            }

            if (cancel.IsCancellationRequested)
            {
                var exit = KillAndReap(child);
                return new HandoverFailed(child.Pid, $"the handover was cancelled; new process {child.Pid} was killed ({exit})", time.GetElapsedTime(start));
            }

            var read = child.Read(remaining < PollSlice ? remaining : PollSlice);
            if (read.IsEndOfFile)
            {
                var exit = AwaitExit(child);
                return new HandoverFailed(child.Pid, $"new process {child.Pid} {exit} before it was ready{LastWords(child)}", time.GetElapsedTime(start));
            }

            if (read.Line is null)
            {
                continue;
            }

            switch (HandshakeMessage.Parse(read.Line))
            {
                case ReadyMessage ready when ready.Pid == child.Pid:
                    return new HandoverSucceeded(ready.Pid, ready.Generation, time.GetElapsedTime(start));
                case ReadyMessage ready:
                    var wrongPid = KillAndReap(child);
                    return new HandoverFailed(child.Pid, $"new process {child.Pid} reported ready as pid {ready.Pid}; it was killed ({wrongPid})", time.GetElapsedTime(start));
                case FailedMessage failed:
                    var exit = AwaitExit(child);
                    return new HandoverFailed(child.Pid, $"new process {child.Pid} failed to start: {failed.Reason} (it {exit})", time.GetElapsedTime(start));
            }
        }
    }

    private static string LastWords(ISuccessorProcess child) => child.LastWords() is { } words ? ": " + words : string.Empty;

    private ChildExit AwaitExit(ISuccessorProcess child)
    {
        var start = time.GetTimestamp();
        while (time.GetElapsedTime(start) < ExitGrace)
        {
            if (child.TryReap() is { } exit)
            {
                return exit;
            }

            Thread.Sleep(10);
        }

        return KillAndReap(child);
    }

    private ChildExit KillAndReap(ISuccessorProcess child)
    {
        child.Kill();
        var start = time.GetTimestamp();
        while (time.GetElapsedTime(start) < ExitGrace)
        {
            if (child.TryReap() is { } exit)
            {
                return exit;
            }

            Thread.Sleep(10);
        }

        return default;
    }
}

/// <summary>The real successor: the same program, started with posix_spawn and exactly the descriptors it needs.</summary>
internal sealed class SpawnedSuccessor : ISuccessorProcess
{
    private readonly int _readFd;
    private readonly StandardErrorRelay _stderr;
    private readonly StringBuilder _buffer = new();
    private bool _endOfFile;

    private SpawnedSuccessor(int pid, int readFd, StandardErrorRelay stderr)
    {
        Pid = pid;
        _readFd = readFd;
        _stderr = stderr;
    }

    public int Pid { get; }

    public static SpawnedSuccessor Start(SuccessorCommand command, IReadOnlyList<InheritedListener> listeners, int generation)
    {
        var (readFd, writeFd) = Descriptors.CreatePipe();
        var (stderrReadFd, stderrWriteFd) = Descriptors.CreatePipe();
        try
        {
            // Listeners at 3.., then the handshake pipe, then our own standard error for the successor to return to.
            var descriptors = listeners.Select(l => l.Descriptor).Append(writeFd).Append(2).ToList();
            var renumbered = listeners
                .Select((l, i) => l with { Descriptor = ProcessSpawner.FirstInheritedDescriptor + i })
                .ToList();
            var environment = command.EnvironmentWithout(HandoverEnvironment.AllVariables)
                .Append($"{HandoverEnvironment.ListenersVariable}={HandoverEnvironment.FormatListeners(renumbered)}")
                .Append($"{HandoverEnvironment.ReadyVariable}={InheritedListener.FormatDescriptor(ProcessSpawner.FirstInheritedDescriptor + listeners.Count)}")
                .Append($"{HandoverEnvironment.GenerationVariable}={InheritedListener.FormatDescriptor(generation)}")
                .Append($"{HandoverEnvironment.ParentVariable}={InheritedListener.FormatDescriptor(Environment.ProcessId)}")
                .Append($"{HandoverEnvironment.StandardErrorVariable}={InheritedListener.FormatDescriptor(ProcessSpawner.FirstInheritedDescriptor + listeners.Count + 1)}")
                .ToList();
            var pid = ProcessSpawner.Spawn(new SpawnRequest(
                command.ExecutablePath, command.Arguments, environment, command.WorkingDirectory, descriptors, StandardError: stderrWriteFd));
            return new SpawnedSuccessor(pid, readFd, new StandardErrorRelay(stderrReadFd));
        }
        catch
        {
            Descriptors.Close(readFd);
            Descriptors.Close(stderrReadFd);
            throw;
        }
        finally
        {
            // Only the child may hold the write ends, so that its death shows here as end of file.
            Descriptors.Close(writeFd);
            Descriptors.Close(stderrWriteFd);
        }
    }

    public HandshakeRead Read(TimeSpan timeout)
    {
        if (TakeLine() is { } buffered)
        {
            return new HandshakeRead(buffered, false);
        }

        if (_endOfFile)
        {
            return HandshakeRead.EndOfFile;
        }

        var bytes = ReadyPipe.Read(_readFd, timeout);
        if (bytes is null)
        {
            return HandshakeRead.Nothing;
        }

        if (bytes.Length == 0)
        {
            _endOfFile = true;
            return _buffer.Length > 0 ? new HandshakeRead(TakeRest(), false) : HandshakeRead.EndOfFile;
        }

        _buffer.Append(Encoding.UTF8.GetString(bytes));
        return TakeLine() is { } line ? new HandshakeRead(line, false) : HandshakeRead.Nothing;
    }

    public void Kill() => ChildProcesses.Signal(Pid, Libc.SIGKILL);

    public ChildExit? TryReap() => ChildProcesses.TryReap(Pid);

    public string? LastWords() => _stderr.Summarize(TimeSpan.FromSeconds(1));

    public void Dispose()
    {
        Descriptors.Close(_readFd);

        // A successor that took over switched to the real stderr just before "ready": the relay sees end of file.
        _stderr.Dispose();
    }

    private string? TakeLine()
    {
        for (var i = 0; i < _buffer.Length; i++)
        {
            if (_buffer[i] == '\n')
            {
                var line = _buffer.ToString(0, i);
                _buffer.Remove(0, i + 1);
                return line;
            }
        }

        return null;
    }

    private string TakeRest()
    {
        var rest = _buffer.ToString();
        _buffer.Clear();
        return rest;
    }
}

/// <summary>How this process was started, captured at start-up so that a successor is started the same way.</summary>
internal sealed record SuccessorCommand(string ExecutablePath, IReadOnlyList<string> Arguments, string WorkingDirectory)
{
    public static SuccessorCommand CaptureCurrent()
    {
        var executable = Environment.ProcessPath
            ?? throw new BatonStartupException("Cannot tell which executable this process runs (Environment.ProcessPath is null).");

        // /proc/self/cmdline is argv exactly as exec'd, including a host's own arguments (`dotnet exec --runtimeconfig ...`);
        // Environment.GetCommandLineArgs() would lose those.
        var raw = File.ReadAllBytes("/proc/self/cmdline");
        var arguments = Encoding.UTF8.GetString(raw).TrimEnd('\0').Split('\0');
        return Choose(executable, arguments, Environment.CurrentDirectory, Environment.GetEnvironmentVariable("PWD"), Interop.Paths.Resolve);
    }

    /// <summary>
    /// Keeps the paths as the user gave them, symbolic links included, where they name the same files: a deploy that
    /// switches <c>/srv/app/current</c> from one release to the next and sends SIGHUP must start the NEXT release.
    /// The kernel reports only resolved paths (the executable, getcwd), which would start the old one again.
    /// </summary>
    internal static SuccessorCommand Choose(string processPath, string[] arguments, string physicalDirectory, string? shellDirectory, Func<string, string?> resolve)
    {
        var directory = shellDirectory is { Length: > 0 } && Path.IsPathRooted(shellDirectory)
            && resolve(shellDirectory) is { } resolvedShell && resolvedShell == resolve(physicalDirectory)
                ? shellDirectory
                : physicalDirectory;

        var executable = processPath;
        if (arguments.Length > 0 && arguments[0].Contains('/', StringComparison.Ordinal))
        {
            var given = Path.GetFullPath(arguments[0], directory);
            if (resolve(given) is { } resolvedGiven && resolvedGiven == resolve(processPath))
            {
                executable = given;
            }
        }

        return new SuccessorCommand(executable, arguments, directory);
    }

    public IEnumerable<string> EnvironmentWithout(IReadOnlyList<string> excluded)
    {
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            var name = (string)entry.Key;
            if (!excluded.Contains(name, StringComparer.Ordinal))
            {
                yield return name + "=" + (string?)entry.Value;
            }
        }
    }
}

/// <summary>Starts successors as real processes.</summary>
internal sealed class SpawningLauncher(SuccessorCommand command) : IProcessLauncher
{
    public ISuccessorProcess Start(IReadOnlyList<InheritedListener> listeners, int generation) =>
        SpawnedSuccessor.Start(command, listeners, generation);

    public void RequestStop(int pid) => ChildProcesses.Signal(pid, Libc.SIGTERM);
}
