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

    public HandshakeRead Read(TimeSpan timeout) =>
        ReadFails is { } failure ? throw failure : _reads.TryTake(out var read, timeout) ? read : HandshakeRead.Nothing;

    public void Kill()
    {
        Killed = true;
        Exit ??= new ChildExit(null, 9);
    }

    public ChildExit? TryReap() => Exit;

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

    public ISuccessorProcess Start(IReadOnlyList<InheritedListener> listeners, int generation)
    {
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

    public IReadOnlyList<InheritedListener> Listeners { get; init; } = [new InheritedListener(7, System.Net.IPEndPoint.Parse("127.0.0.1:8000"))];

    public List<string> Calls { get; } = [];

    public int OpenConnections => 3;

    public List<int> ReclaimedFrom { get; } = [];

    public void ReclaimPidFile(int failedSuccessor) => ReclaimedFrom.Add(failedSuccessor);

    public CancellationToken HammerToken { get; private set; }

    public Task StopAcceptingAsync(bool handedOver)
    {
        lock (Calls)
        {
            Calls.Add(handedOver ? "stop accepting (handed over)" : "stop accepting");
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

    public void Exit(bool deletePidFile, bool hammered)
    {
        lock (Calls)
        {
            Calls.Add(deletePidFile ? "exit (delete pid file)" : "exit");
        }
    }
}
