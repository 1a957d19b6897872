using Baton.Interop;

namespace Baton.Handover;

/// <summary>
/// The real successor: the same program, started with posix_spawn and exactly the descriptors it needs - the
/// listeners, its end of the handover channel, our standard error, and the relay pipe its own standard error goes
/// into until it is accepted.
/// </summary>
internal sealed class SpawnedSuccessor : ISuccessorProcess
{
    private readonly LineReader _channel;
    private readonly StandardErrorRelay _stderr;

    // Drain reports and moved connections are sent from different threads; each message must go out whole.
    private readonly Lock _sending = new();
    private int _disposed;

    private readonly SuccessorPriority? _priority;

    private SpawnedSuccessor(int pid, int channelFd, StandardErrorRelay stderr, SuccessorPriority? priority)
    {
        _priority = priority;
        Pid = pid;
        _channel = new LineReader(channelFd);
        _stderr = stderr;
    }

    public int Pid { get; }

    public static SpawnedSuccessor Start(
        SuccessorCommand command, StandardStreams streams, IReadOnlyList<InheritedListener> listeners, int generation, PassedOn passedOn, SuccessorPriority? priority = null, bool standby = false)
    {
        var (channel, childChannel) = Descriptors.CreateSocketPair();
        var (stderrRead, stderrWrite) = Descriptors.CreatePipe();
        try
        {
            var (descriptors, variables) = HandoverEnvironment.ForSuccessor(
                listeners, childChannel, standardError: streams.ForSuccessor(2), standardErrorRelay: stderrRead, generation, Environment.ProcessId,
                passedOn.Control(), passedOn.Supervisor);
            var environment = command.EnvironmentWithout(HandoverEnvironment.AllVariables).Concat(variables).ToList();
            if (standby)
            {
                environment.Add(HandoverVariables.Standby + "=1");
            }

            var request = new SpawnRequest(
                command.ExecutablePath, command.Arguments, environment, command.WorkingDirectory, descriptors,
                Standard: [streams.ForSuccessor(0), streams.ForSuccessor(1), stderrWrite]);

            // A raised nice value from the first instruction: spawned from a thread that has it, the child and every
            // thread it creates start with it; the child takes its parent's back at "go".
            var pid = priority is { } nice
                ? NiceValues.RunNiced(nice.RaiseBy, () => ProcessSpawner.Spawn(request with
                {
                    Environment = [
                        .. environment,
                        $"{HandoverVariables.RestoreNice}={nice.RestoreTo.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
                        .. nice.Idle ? [HandoverVariables.LeaveIdle + "=1"] : Array.Empty<string>()],
                }), nice.Idle)
                : ProcessSpawner.Spawn(request);
            return new SpawnedSuccessor(pid, channel, new StandardErrorRelay(stderrRead, keepTail: true), priority);
        }
        catch
        {
            Descriptors.Close(channel);
            Descriptors.Close(stderrRead);
            throw;
        }
        finally
        {
            // Only the child may hold its ends, so that its death shows here as end of file.
            Descriptors.Close(childChannel);
            Descriptors.Close(stderrWrite);
        }
    }

    public HandshakeRead Read(TimeSpan timeout) => _channel.Read(timeout);

    public bool Accept(int openConnections)
    {
        // One send: the successor knows what its predecessor drains from its first moment of serving.
        if (!DescriptorIo.Send(_channel.Descriptor, HandshakeMessage.Go + HandshakeMessage.Draining(openConnections)))
        {
            return false;
        }

        // The successor relays its standard-error pipe itself from now on.
        _stderr.Dispose();
        return true;
    }

    public void ReportDraining(int connections)
    {
        // Best effort and never blocking: a report that cannot be sent now is skipped (the next one says more).
        if (_sending.TryEnter())
        {
            try
            {
                _ = DescriptorIo.Send(_channel.Descriptor, HandshakeMessage.Draining(connections), dontWait: true);
            }
            finally
            {
                _sending.Exit();
            }
        }
    }

    public bool MoveConnection(int fd, string listener, ReadOnlySpan<byte> unread)
    {
        lock (_sending)
        {
            return Volatile.Read(ref _disposed) == 0 && SendConnection(_channel.Descriptor, fd, listener, unread);
        }
    }

    /// <summary>A "moved" line with the connection's descriptor, down a handover channel.</summary>
    internal static bool SendConnection(int channel, int fd, string listener, ReadOnlySpan<byte> unread) =>
        ConnectionPassing.SendWithDescriptor(channel, System.Text.Encoding.UTF8.GetBytes(HandshakeMessage.Moved(listener, unread)), fd);

    public void Kill() => _ = ChildProcesses.Signal(Pid, Libc.SIGKILL);

    public void Hurry()
    {
        if (_priority is { } priority)
        {
            // Allowed: the priority was lowered only where it may be taken back (see NiceValues.CanLowerAgain).
            _ = NiceValues.TrySetAllThreads(priority.RestoreTo, Pid, priority.Idle);
        }
    }

    public ChildExit? TryReap() => ChildProcesses.TryReap(Pid);

    public string? LastWords() => _stderr.Summarize(TimeSpan.FromSeconds(1));

    /// <summary>Closes our end of the channel (a successor still waiting for "go" sees end of file) and ends the relay.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            lock (_sending)
            {
                Descriptors.Close(_channel.Descriptor);
            }

            _stderr.Dispose();
        }
    }
}

/// <summary>What every successor is handed besides its listeners: the control socket (-1: none), the supervisor's channel (-1: none).</summary>
internal sealed record PassedOn(Func<int> Control, int Supervisor)
{
    public static readonly PassedOn Nothing = new(() => -1, -1);
}

/// <summary>Starts successors as real processes.</summary>
internal sealed class SpawningLauncher(SuccessorCommand command, StandardStreams streams, PassedOn passedOn, Func<bool, SuccessorPriority?>? priority = null) : IProcessLauncher
{
    // Decided at each start, not once: a process that was itself started at a lower priority has taken its parent's
    // back only once it serves, and that value - not the one it started with - is the one to hand on.
    public ISuccessorProcess Start(IReadOnlyList<InheritedListener> listeners, int generation, bool standby) =>
        SpawnedSuccessor.Start(command, streams, listeners, generation, passedOn, priority?.Invoke(standby), standby);

    public void RequestStop(int pid) => _ = ChildProcesses.Signal(pid, Libc.SIGTERM);
}

/// <summary>
/// A successor starts <paramref name="RaiseBy"/> nice values lower in priority - and, with <paramref name="Idle"/>, under
/// SCHED_IDLE - and takes <paramref name="RestoreTo"/> (under SCHED_OTHER) back at "go".
/// </summary>
internal sealed record SuccessorPriority(int RaiseBy, int RestoreTo, bool Idle = false);
