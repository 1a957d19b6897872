using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Baton.Handover;
using Baton.Interop;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Baton.Kestrel;

/// <summary>
/// Kestrel's listener with a gate in front of accept. Stopping accepting cancels the pending accept and leaves the
/// socket alone - the successor is accepting on the very same socket - so no connection is taken from the kernel's
/// queue that this process would then have to drop. The gate also holds accept back until it is opened, the seam a
/// warm handover uses.
/// </summary>
internal sealed class GatedListener : IConnectionListener
{
    private readonly IConnectionListener _inner;
    private readonly ConnectionTracker _tracker;
    private readonly ListenerRegistry _registry;
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _acceptInProgress = new(1, 1);
    private readonly bool _inherited;
    private readonly Action<string>? _socketFileRemoved;
    private readonly ConnectionMover? _mover;

    // Connections moved in from the predecessor, yielded by AcceptAsync alongside the ones accepted here. A pending
    // accept outlives an AcceptAsync that returned a moved connection, so that no accepted connection is ever lost.
    private readonly ConcurrentQueue<ConnectionContext> _injected = new();
    private TaskCompletionSource _injectedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Warm-up connections (see WarmUp): in-memory, yielded while the gate is still closed and nothing else is.
    private readonly ConcurrentQueue<ConnectionContext> _warmUps = new();
    private TaskCompletionSource _warmUpSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task<ConnectionContext?>? _pendingAccept;
    private bool _detached;
    private bool _unbound;

    public GatedListener(
        IConnectionListener inner, Socket? socket, bool inherited, ConnectionTracker tracker, ListenerRegistry registry, bool activated = false,
        Action<string>? socketFileRemoved = null, ConnectionMover? mover = null)
    {
        _mover = mover is { Enabled: true } ? mover : null;
        _inner = inner;
        _inherited = inherited;
        Activated = activated;
        _socketFileRemoved = socketFileRemoved;
        Handle = socket;
        _tracker = tracker;
        _registry = registry;
        Descriptor = socket is null ? -1 : (int)socket.Handle;
        LocalEndPoint = socket?.LocalEndPoint ?? inner.EndPoint;
        Name = LocalEndPoint.ToString() ?? string.Empty;
    }

    public EndPoint EndPoint => _inner.EndPoint;

    /// <summary>The socket Kestrel listens on; null for a transport that is not a socket.</summary>
    public Socket? Handle { get; }

    public int Descriptor { get; }

    /// <summary>The service manager passed this socket (socket activation) and holds it too.</summary>
    public bool Activated { get; }

    public EndPoint LocalEndPoint { get; }

    /// <summary>How a moved connection names the listener it was accepted on: the listening socket's own address.</summary>
    public string Name { get; }

    public void OpenGate() => _open.TrySetResult();

    /// <summary>
    /// Hands Kestrel <paramref name="connection"/> (a warm-up connection, see <see cref="Kestrel.WarmUp"/>) although the
    /// gate is closed: the app's pipeline runs for it before the process takes anything from the shared socket. It goes
    /// through the same wrappers as an accepted connection, so their code is warm too.
    /// </summary>
    /// <param name="connection">The warm-up connection.</param>
    /// <param name="mover">
    /// What moves it, instead of this process's <see cref="ConnectionMover"/>: a rehearsal's (see <see cref="MoveRehearsal"/>).
    /// </param>
    /// <returns>False once this listener no longer accepts: nothing would serve it (the caller closes it).</returns>
    public bool WarmUp(ConnectionContext connection, ConnectionMover? mover = null) =>
        !_stopAccepting.IsCancellationRequested && QueueWarmUp(Prepare(connection, connection.Transport.Input, alreadyRead: 0, mover: mover));

    /// <summary>
    /// A warm-up connection that moved here (see <see cref="MoveRehearsal"/>), yielded although the gate is closed, the
    /// way <see cref="Inject"/> yields a connection the predecessor moved once it is open.
    /// </summary>
    /// <returns>False once this listener no longer accepts (the caller closes it).</returns>
    public bool WarmUpMoved(ConnectionContext connection, PipeReader input, long alreadyRead, long alreadyWritten) =>
        !_stopAccepting.IsCancellationRequested && QueueWarmUp(Prepare(connection, input, alreadyRead, alreadyWritten));

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        // Until the gate opens, only warm-up connections: nothing is taken from the socket the predecessor serves.
        while (!_open.Task.IsCompleted && !_stopAccepting.IsCancellationRequested)
        {
            Task signal;
            lock (_warmUps)
            {
                if (_warmUps.TryDequeue(out var warm))
                {
                    return warm;
                }

                signal = _warmUpSignal.Task;
            }

            await ((Task)Task.WhenAny(_open.Task, signal)).WaitAsync(_stopAccepting.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await _acceptInProgress.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            while (true)
            {
                // A warm-up connection queued as the gate opened is yielded too, never stranded.
                if (_injected.TryDequeue(out var moved) || _warmUps.TryDequeue(out moved))
                {
                    return moved;
                }

                if (_stopAccepting.IsCancellationRequested && _pendingAccept is null)
                {
                    return null;
                }

                Task signal;
                lock (_injected)
                {
                    if (!_injected.IsEmpty)
                    {
                        continue;
                    }

                    signal = _injectedSignal.Task;
                }

                var accepting = _pendingAccept ??= AcceptInnerAsync();
                var first = await Task.WhenAny(accepting, signal).WaitAsync(cancellationToken).ConfigureAwait(false);
                if (first == accepting)
                {
                    _pendingAccept = null;
                    if (await accepting.ConfigureAwait(false) is { } connection)
                    {
                        return Prepare(connection, connection.Transport.Input, alreadyRead: 0);
                    }
                }
            }
        }
        finally
        {
            _acceptInProgress.Release();
        }
    }

    /// <summary>
    /// Yields <paramref name="connection"/> (moved in from the predecessor) from <see cref="AcceptAsync"/>, reading
    /// <paramref name="input"/>. False once this listener no longer accepts.
    /// </summary>
    public bool Inject(ConnectionContext connection, PipeReader input, long alreadyRead, long alreadyWritten)
    {
        if (_stopAccepting.IsCancellationRequested)
        {
            return false;
        }

        QueueInjected(Prepare(connection, input, alreadyRead, alreadyWritten));
        return true;
    }

    private void QueueInjected(ConnectionContext prepared)
    {
        lock (_injected)
        {
            _injected.Enqueue(prepared);
            var signal = _injectedSignal;
            _injectedSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            signal.TrySetResult();
        }
    }

    private bool QueueWarmUp(ConnectionContext connection)
    {
        // Once the gate is open, AcceptAsync yields moved-in connections and no longer looks for warm-up ones: a serving
        // process's own rehearsal (see MoveRehearsal) goes with the moved-in ones.
        if (_open.Task.IsCompleted)
        {
            QueueInjected(connection);
            return true;
        }

        lock (_warmUps)
        {
            _warmUps.Enqueue(connection);
            var signal = _warmUpSignal;
            _warmUpSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            signal.TrySetResult();
        }

        return true;
    }

    private async Task<ConnectionContext?> AcceptInnerAsync()
    {
        try
        {
            return await _inner.AcceptAsync(_stopAccepting.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopAccepting.IsCancellationRequested)
        {
            return null;
        }
    }

    private ConnectionContext Prepare(ConnectionContext connection, PipeReader input, long alreadyRead, long alreadyWritten = 0, ConnectionMover? mover = null)
    {
        mover = mover is { Enabled: true } ? mover : _mover;
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (socket is not null)
        {
            // A predecessor closing its copy of the listener may have set SO_LINGER {on, 0} on it, and accepted
            // sockets inherit that; a close here would then be a reset. One setsockopt per connection rules it out.
            Descriptors.ClearLinger((int)socket.Handle);
        }

        if (mover is not null && socket is { SocketType: SocketType.Stream, AddressFamily: AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 })
        {
            // Only TCP can move (the kernel counts what was read from it, which a move needs). The wrapper hands
            // Kestrel the transport's buffers untouched.
            var movable = new MovableConnection(input, mover, socket, Name, connection.ConnectionId, alreadyRead, alreadyWritten);
            connection.Transport = new MovableTransport(movable, movable.CountOutput(connection.Transport.Output));
            connection.Features.Set(movable);
        }
        else if (input != connection.Transport.Input)
        {
            connection.Transport = new MovableTransport(input, connection.Transport.Output);
        }

        // Kestrel gets the tracked connection: its transport wrapper is how a drain sends HTTP/2 clients away.
        return _tracker.Track(connection);
    }

    /// <summary>
    /// Stops taking connections. With <paramref name="keepSocketOpen"/>, another process serves the same socket (the
    /// successor, or the predecessor of a successor that was never accepted): this process's descriptor is detached
    /// from it (see <see cref="Descriptors.DetachShared"/>) and Kestrel's later unbind and dispose only ever touch a
    /// stand-in. Without, the socket is closed now, and an inherited Unix socket's file removed.
    /// </summary>
    public async Task StopAcceptingAsync(bool keepSocketOpen)
    {
        _stopAccepting.Cancel();

        // Wait until no accept is in progress, so the descriptor is not swapped under a running accept call.
        await _acceptInProgress.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await SettlePendingAcceptAsync().ConfigureAwait(false);
            if (_detached || _unbound)
            {
                // Done already - by an earlier stop, or by Kestrel itself (an app that called StopApplication during a
                // drain): then the descriptor number may belong to something else by now, and is never touched.
                return;
            }

            if (keepSocketOpen && Descriptor >= 0)
            {
                Descriptors.DetachShared(Descriptor);
                _detached = true;
            }
            else if (!keepSocketOpen)
            {
                // Nobody takes over: close the socket now, so new clients are refused at once (and can go elsewhere)
                // instead of waiting in a backlog nobody accepts from until the drain ends and resets them.
                await UnbindInnerAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            _acceptInProgress.Release();
        }
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _stopAccepting.Cancel();
        await _acceptInProgress.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await SettlePendingAcceptAsync().ConfigureAwait(false);
            // Detached: nothing of the shared socket is left here. The stand-in stays with its Socket object until the
            // process ends: disposing a Socket that bound a Unix path would unlink the path the other process serves.
            if (!_unbound && !_detached)
            {
                await UnbindInnerAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _acceptInProgress.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _registry.Remove(this);
        _stopAccepting.Cancel();
        if (!_detached)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// An accept left pending by an AcceptAsync that returned a moved connection ends with the cancellation; a connection
    /// it took just before is queued for the next AcceptAsync (Kestrel keeps asking until it gets null), never dropped.
    /// </summary>
    private async Task SettlePendingAcceptAsync()
    {
        if (_pendingAccept is { } pending)
        {
            _pendingAccept = null;
            if (await pending.ConfigureAwait(false) is { } stranded)
            {
                _injected.Enqueue(Prepare(stranded, stranded.Transport.Input, alreadyRead: 0));
            }
        }
    }

    private async Task UnbindInnerAsync(CancellationToken cancellationToken)
    {
        await _inner.UnbindAsync(cancellationToken).ConfigureAwait(false);
        _unbound = true;

        // The runtime removes the file of a Unix socket that its own Socket bound; one inherited through handovers was
        // bound by an earlier process, and left behind its file would fail the next cold start with "address in use".
        // This runs only when nobody takes over, and while the file is ours: nobody can bind the path before it goes.
        // Not for a socket the service manager passed: its socket unit still listens on that path (and starts the
        // service again on the next connection), so the file is the service manager's.
        if (_inherited && !Activated && InheritedListener.SocketFilePath(LocalEndPoint) is { } path && File.Exists(path))
        {
            File.Delete(path);
            _socketFileRemoved?.Invoke(path);
        }
    }
}

/// <summary>A connection's transport with its input replaced (a <see cref="MovableConnection"/>, or a moved-in connection's bytes first).</summary>
internal sealed class MovableTransport(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;
}
