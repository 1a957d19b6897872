using Baton.Interop;

namespace Baton.Handover;

/// <summary>The process this one took over from, while it still drains; faked in unit tests.</summary>
internal interface IPredecessor
{
    int Pid { get; }

    /// <summary>True until the predecessor has exited (its end of the channel closed).</summary>
    bool IsAlive { get; }

    /// <summary>The connections it last said it still has; null before it said.</summary>
    int? OpenConnections { get; }

    /// <summary>Completes when the predecessor has exited.</summary>
    Task Exited { get; }
}

/// <summary>
/// The successor's side of the handover: tells the parent "ready" (or why not), waits for its "go" before accepting
/// anything, then follows the parent's drain until it exits. At "go" standard error is switched from the parent's
/// relay to the real one.
/// </summary>
internal sealed class SuccessorSide : IPredecessor
{
    private readonly InheritedState _inherited;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _channel;
    private int _openConnections = -1;

    public SuccessorSide(InheritedState inherited)
    {
        _inherited = inherited;
        _channel = inherited.ChannelDescriptor;

        // Handed to us, not to anything the app starts.
        foreach (var fd in new[] { inherited.ChannelDescriptor, inherited.StandardErrorDescriptor, inherited.StandardErrorRelayDescriptor })
        {
            Descriptors.SetCloseOnExec(fd, true);
        }
    }

    public int Pid => _inherited.ParentPid;

    public int Generation => _inherited.Generation;

    public bool IsAlive => !_exited.Task.IsCompleted;

    public int? OpenConnections => Volatile.Read(ref _openConnections) is var count and >= 0 ? count : null;

    public Task Exited => _exited.Task;

    /// <summary>
    /// Takes a connection the predecessor moved here: its descriptor (now this process's), the listener it was accepted
    /// on, and the bytes already read from it. False when nothing here can take it: the descriptor is closed then.
    /// </summary>
    public Func<int, string, byte[], bool>? ConnectionArrived { get; set; }

    /// <summary>
    /// Tells the parent this process serves, then waits in the background for its answer. <paramref name="accepted"/>
    /// runs once, at "go" - or at end of file if the parent died before it could answer: then nobody else accepts on
    /// the listeners, and this process must.
    /// </summary>
    /// <remarks>A parent that cannot be told is gone: the end of file that follows runs <paramref name="accepted"/>.</remarks>
    public void ReportReady(int pid, Action<bool> accepted)
    {
        // From here the channel belongs to the thread that follows the predecessor: only it closes the descriptor.
        var channel = Interlocked.Exchange(ref _channel, -1);
        if (channel < 0)
        {
            return;
        }

        _ = DescriptorIo.Send(channel, HandshakeMessage.Ready(pid, Generation));
        new Thread(() => FollowPredecessor(channel, accepted)) { IsBackground = true, Name = "Baton predecessor" }.Start();
    }

    /// <summary>
    /// Tells the parent why this process will not serve; the parent logs it and keeps serving. Once "ready" was sent the
    /// parent no longer listens, and there is nothing to tell.
    /// </summary>
    /// <returns>True when this process was still starting and its parent has been told; false after "ready" (or a
    /// failure already reported).</returns>
    public bool ReportFailure(string reason)
    {
        var channel = Interlocked.Exchange(ref _channel, -1);
        if (channel < 0)
        {
            return false;
        }

        _ = DescriptorIo.Send(channel, HandshakeMessage.Failed(reason));
        Descriptors.Close(channel);
        return true;
    }

    /// <summary>
    /// Points standard error - descriptor 2 and every copy of it the runtime made - at the real one, and keeps relaying
    /// the pipe for processes started before now, which still write into it.
    /// </summary>
    /// <returns>The descriptors switched.</returns>
    public IReadOnlyList<int> SwitchStandardError()
    {
        var switched = Descriptors.RedirectPipeWriters(writeEnd: 2, _inherited.StandardErrorDescriptor);
        Descriptors.Close(_inherited.StandardErrorDescriptor);
        _ = new StandardErrorRelay(_inherited.StandardErrorRelayDescriptor, keepTail: false);
        return switched;
    }

    private void TakeConnection(int fd, MovedMessage moved)
    {
        if (fd < 0)
        {
            return;
        }

        bool taken;
        try
        {
            taken = ConnectionArrived?.Invoke(fd, moved.Listener, moved.Unread) ?? false;
        }
        catch (Exception)
        {
            taken = false;
        }

        if (!taken)
        {
            Descriptors.Close(fd);
        }
    }

    private void FollowPredecessor(int channel, Action<bool> accepted)
    {
        var reader = new LineReader(channel, receivesDescriptors: true);
        var wasAccepted = false;
        try
        {
            while (true)
            {
                var read = reader.Read(TimeSpan.FromSeconds(30));
                if (read.IsEndOfFile)
                {
                    break;
                }

                switch (read.Line is null ? null : HandshakeMessage.Parse(read.Line))
                {
                    case GoMessage when !wasAccepted:
                        wasAccepted = true;
                        accepted(true);
                        break;
                    case DrainingMessage draining:
                        Volatile.Write(ref _openConnections, draining.Connections);
                        break;
                    case MovedMessage moved:
                        TakeConnection(reader.TakeDescriptor(), moved);
                        break;
                }
            }
        }
        catch (Exception)
        {
            // A broken channel means the same as a closed one: the predecessor is of no more help.
        }
        finally
        {
            reader.CloseDescriptors();
            Descriptors.Close(channel);
            Volatile.Write(ref _openConnections, 0);
            if (!wasAccepted)
            {
                accepted(false);
            }

            _exited.TrySetResult();
        }
    }
}
