using System.Collections.Concurrent;
using Baton.Draining;
using Baton.Handover;
using Baton.Interop;

namespace Baton.Tests;

/// <summary>A successor whose handshake lines, end of file and exit are scripted by the test.</summary>
internal sealed class FakeSuccessor(int pid) : ISuccessorProcess
{
    private readonly BlockingCollection<HandshakeRead> _reads = [];

    public int Pid { get; } = pid;

    public bool Killed { get; private set; }

    public ChildExit? Exit { get; set; }

    public bool Disposed { get; private set; }

    public void Say(string line) => _reads.Add(new HandshakeRead(line, false));

    public void Die(ChildExit exit)
    {
        Exit = exit;
        _reads.Add(HandshakeRead.EndOfFile);
    }

    public Exception? ReadFails { get; set; }

    /// <summary>"go" was sent (and could be: unless <see cref="CannotBeTold"/>).</summary>
    public bool Accepted { get; private set; }

    public bool CannotBeTold { get; set; }

    public List<int> DrainingReports { get; } = [];

    public Action? OnAccept { get; init; }

    public bool Accept(int openConnections)
    {
        if (CannotBeTold)
        {
            return false;
        }

        Accepted = true;
        ReportDraining(openConnections);
        OnAccept?.Invoke();
        return true;
    }

    /// <summary>Connections moved here; the descriptor is a copy the test owns.</summary>
    public List<(string Listener, byte[] Unread, int Fd)> Moved { get; } = [];

    public bool MoveConnection(int fd, string listener, ReadOnlySpan<byte> unread)
    {
        lock (Moved)
        {
            Moved.Add((listener, unread.ToArray(), ConnectionPassing.Duplicate(fd)));
        }

        return true;
    }

    public void ReportDraining(int connections)
    {
        lock (DrainingReports)
        {
            DrainingReports.Add(connections);
        }
    }

    public HandshakeRead Read(TimeSpan timeout) =>
        ReadFails is { } failure ? throw failure : _reads.TryTake(out var read, timeout) ? read : HandshakeRead.Nothing;

    /// <summary>A child that a kill does not end (stuck in the kernel): it is reaped only after this many more tries.</summary>
    public int UnreapableTries { get; set; }

    public int ReapAttempts { get; private set; }

    public bool Hurried { get; private set; }

    public void Hurry() => Hurried = true;

    public void Kill()
    {
        Killed = true;
        Exit ??= new ChildExit(null, 9);
    }

    public ChildExit? TryReap()
    {
        ReapAttempts++;
        if (UnreapableTries > 0 && Killed)
        {
            UnreapableTries--;
            return null;
        }

        return Exit;
    }

    public string? Words { get; set; }

    public string? LastWords() => Words;

    public void Dispose() => Disposed = true;
}

internal sealed class FakeLauncher : IProcessLauncher
{
    private readonly Queue<FakeSuccessor> _next = new();

    public List<(IReadOnlyList<InheritedListener> Listeners, int Generation)> Starts { get; } = [];

    public List<int> StopRequests { get; } = [];

    public Exception? FailWith { get; set; }

    public FakeLauncher Then(FakeSuccessor successor)
    {
        _next.Enqueue(successor);
        return this;
    }

    public List<bool> Standbys { get; } = [];

    public ISuccessorProcess Start(IReadOnlyList<InheritedListener> listeners, int generation, bool standby)
    {
        Standbys.Add(standby);
        if (FailWith is not null)
        {
            throw FailWith;
        }

        Starts.Add((listeners, generation));
        return _next.Dequeue();
    }

    public void RequestStop(int pid) => StopRequests.Add(pid);
}

internal sealed class FakeServer : IServerControl
{
    private readonly TaskCompletionSource<DrainResult> _drainResult = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly IReadOnlyList<InheritedListener> _listeners = [new InheritedListener(7, System.Net.IPEndPoint.Parse("127.0.0.1:8000"))];

    public IReadOnlyList<InheritedListener> Listeners
    {
        get => ListenersFail is { } failure ? throw failure : _listeners;
        init => _listeners = value;
    }

    public Exception? ListenersFail { get; init; }

    public List<string> Calls { get; } = [];

    public int OpenConnections => 3;

    public bool OwnsListeners { get; set; } = true;

    public bool StandingBy { get; set; }

    public List<int> ReclaimedFrom { get; } = [];

    public void ReclaimPidFile(int failedSuccessor) => ReclaimedFrom.Add(failedSuccessor);

    public List<int> PidFileHandedTo { get; } = [];

    public void HandPidFileTo(int successorPid) => PidFileHandedTo.Add(successorPid);

    public CancellationToken HammerToken { get; private set; }

    public Task StopAcceptingAsync(bool keepSocketsOpen)
    {
        lock (Calls)
        {
            Calls.Add(keepSocketsOpen ? "stop accepting (sockets kept open)" : "stop accepting");
        }

        return Task.CompletedTask;
    }

    public async Task<DrainResult> DrainAsync(CancellationToken hammer)
    {
        HammerToken = hammer;
        lock (Calls)
        {
            Calls.Add("drain");
        }

        using var registration = hammer.Register(() => _drainResult.TrySetResult(DrainResult.Hammered));
        return await _drainResult.Task;
    }

    public void FinishDrain() => _drainResult.TrySetResult(DrainResult.Drained);

    public ISuccessorProcess? MovingTo { get; private set; }

    public int MovedConnections { get; set; }

    public void MoveConnectionsTo(ISuccessorProcess successor)
    {
        MovingTo = successor;
        lock (Calls)
        {
            Calls.Add("move connections");
        }
    }

    public void Exit(bool deletePidFile, bool hammered)
    {
        lock (Calls)
        {
            Calls.Add(deletePidFile ? "exit (delete pid file)" : "exit");
        }
    }
}

internal sealed class FakeChecks(Func<int, DescriptorKind>? kind = null, IReadOnlyDictionary<int, System.Net.EndPoint>? bound = null) : IDescriptorChecks
{
    public HashSet<int> Channels { get; init; } = [];

    public HashSet<int> Closed { get; init; } = [];

    public DescriptorKind Classify(int fd) => kind?.Invoke(fd) ?? DescriptorKind.ListeningStreamSocket;

    public System.Net.EndPoint? BoundEndPoint(int fd) => bound is not null && bound.TryGetValue(fd, out var endPoint) ? endPoint : null;

    public bool IsChannel(int fd) => Channels.Contains(fd);

    public bool IsOpen(int fd) => !Closed.Contains(fd);
}

internal sealed class FakePredecessor(int pid) : IPredecessor
{
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Pid { get; } = pid;

    public bool IsAlive => !_exited.Task.IsCompleted;

    public int? OpenConnections { get; set; }

    public Task Exited => _exited.Task;

    public void Exit() => _exited.TrySetResult();
}

/// <summary>Keeps every formatted line.</summary>
internal sealed class RecordingLogger : Microsoft.Extensions.Logging.ILogger
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue(formatter(state, exception));
}

/// <summary>A broken log provider: every line throws.</summary>
internal sealed class ThrowingLogger : Microsoft.Extensions.Logging.ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        throw new InvalidOperationException("the log provider is broken");
}

/// <summary>A clock that moves on by <see cref="Step"/> each time it is read: waits measured against it end at once.</summary>
internal sealed class SteppingTimeProvider(TimeSpan step) : TimeProvider
{
    private long _ticks;

    public TimeSpan Step { get; set; } = step;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Add(ref _ticks, Step.Ticks);
}
