using System.Net.Sockets;
using Baton.Handover;
using Baton.Interop;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Kestrel;

/// <summary>
/// Connections that move (<see cref="BatonOptions.MoveIdleConnections"/>). In a process that hands over: the switch
/// that makes every <see cref="MovableConnection"/> pass itself to the successor once idle. In the successor: turns a
/// descriptor received from the predecessor into a Kestrel connection that the listener it came from yields as if it
/// had just accepted it.
/// </summary>
internal sealed class ConnectionMover : IDisposable
{
    /// <summary>The longest a move waits for a read the transport had already started to land in its buffer.</summary>
    public static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(2);

    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Lock _gate = new();
    private SocketConnectionContextFactory? _factory;
    private volatile ISuccessorProcess? _successor;
    private int _moved;
    private int _received;
    private int _inFlight;

    public ConnectionMover(IOptions<BatonOptions> options, ILoggerFactory loggerFactory)
    {
        Enabled = options.Value.MoveIdleConnections;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Baton");
    }

    public bool Enabled { get; }

    /// <summary>This process has handed over and moves its idle connections.</summary>
    public bool IsMoving => _successor is not null;

    public ISuccessorProcess? Successor => _successor;

    public int MovedCount => Volatile.Read(ref _moved);

    public int ReceivedCount => Volatile.Read(ref _received);

    /// <summary>Starts moving: each open connection that waits for its client is looked at now, the others once their request is answered.</summary>
    public void MoveTo(ISuccessorProcess successor, IEnumerable<ConnectionContext> open)
    {
        if (!Enabled)
        {
            return;
        }

        _successor = successor;
        foreach (var connection in open)
        {
            connection.Features.Get<MovableConnection>()?.Nudge();
        }
    }

    /// <summary>The successor cannot take connections (it is gone): the ones left drain the usual way.</summary>
    public void StopMoving() => _successor = null;

    /// <summary>
    /// A connection has begun to move (its descriptor is detached): from here Kestrel may count it closed while it is
    /// still on its way to the successor, and the drain must not end - nor the process exit - before <see cref="Moved"/>.
    /// </summary>
    public void Moving() => Interlocked.Increment(ref _inFlight);

    /// <summary>Waits (at most <paramref name="longest"/>) until every connection that began to move has been passed on or failed.</summary>
    public async Task WaitForMovesAsync(TimeSpan longest)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Volatile.Read(ref _inFlight) > 0 && clock.Elapsed < longest)
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    public void Moved(bool succeeded, string connectionId, string? failure, string detail = "")
    {
        Interlocked.Decrement(ref _inFlight);
        if (succeeded)
        {
            Interlocked.Increment(ref _moved);
            Log.ConnectionMoved(_logger, Environment.ProcessId, connectionId, detail);
        }
        else
        {
            Log.MoveFailed(_logger, Environment.ProcessId, connectionId, failure ?? "unknown");
        }
    }

    /// <summary>
    /// Takes a connection the predecessor moved here. False when nothing here can take it (the caller closes the
    /// descriptor); once it is a connection, it is this process's to close, and the answer is true.
    /// </summary>
    /// <param name="fd">The connection's descriptor, now this process's.</param>
    /// <param name="listener">The listener it was accepted on, by name.</param>
    /// <param name="unread">The bytes read from it that no request used.</param>
    /// <param name="listeners">This process's listeners.</param>
    /// <param name="predecessorPid">The process it came from.</param>
    /// <param name="rehearsal">It is a warm-up connection this process moved to itself (see <see cref="MoveRehearsal"/>).</param>
    public bool Receive(int fd, string listener, byte[] unread, IReadOnlyList<GatedListener> listeners, int predecessorPid, bool rehearsal = false)
    {
        var target = listeners.FirstOrDefault(l => l.Name == listener);
        if (target is null)
        {
            Log.MovedConnectionRefused(_logger, Environment.ProcessId, predecessorPid, $"no listener here is {listener}");
            return false;
        }

        // Read before the transport starts: everything read so far was read by the predecessors, and the bytes they
        // did not use are the ones that came with the descriptor.
        if (ConnectionPassing.BytesRead(fd) is not { } read || ConnectionPassing.BytesWritten(fd) is not { } written)
        {
            Log.MovedConnectionRefused(_logger, Environment.ProcessId, predecessorPid, "it is not a TCP connection");
            return false;
        }

        var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        ConnectionContext connection;
        try
        {
            connection = Factory().Create(socket);
        }
        catch (Exception ex)
        {
            socket.Dispose();
            Log.MovedConnectionRefused(_logger, Environment.ProcessId, predecessorPid, ex.Message);
            return true;
        }

        var input = unread.Length > 0 ? new PrefixedReader(unread, connection.Transport.Input) : connection.Transport.Input;
        if (rehearsal ? !target.WarmUpMoved(connection, input, read - unread.Length, written) : !target.Inject(connection, input, read - unread.Length, written))
        {
            connection.Abort(new ConnectionAbortedException("Baton: this process stops accepting."));
            Log.MovedConnectionRefused(_logger, Environment.ProcessId, predecessorPid, "this process no longer accepts");
            return true;
        }

        if (!rehearsal)
        {
            Interlocked.Increment(ref _received);
        }

        Log.ConnectionMoved(_logger, Environment.ProcessId, connection.ConnectionId, $"received, {unread.Length} unread, {read} read before");
        return true;
    }

    /// <summary>
    /// Compiles, under the JIT, what <see cref="Receive"/> runs, and creates the transport it hands connections to: a
    /// successor does it while it warms up, before connections wait on it.
    /// </summary>
    public void PrepareToReceive()
    {
        if (!Enabled || !Hosting.CodePreparation.IsUseful)
        {
            return;
        }

        _ = Factory();
        foreach (var type in new[] { typeof(ConnectionMover), typeof(PrefixedReader), typeof(MovableConnection), typeof(Handover.SuccessorSide), typeof(ConnectionPassing) })
        {
            Hosting.CodePreparation.Prepare(type);
        }
    }

    public void Dispose() => _factory?.Dispose();

    private SocketConnectionContextFactory Factory()
    {
        lock (_gate)
        {
            return _factory ??= new SocketConnectionContextFactory(new SocketConnectionFactoryOptions(), _loggerFactory.CreateLogger("Baton.MovedConnections"));
        }
    }
}
