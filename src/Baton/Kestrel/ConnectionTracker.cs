using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Baton.Kestrel;

/// <summary>
/// Every connection this process accepted and has not yet closed, by Kestrel's connection id (the one requests see
/// as <c>HttpContext.Connection.Id</c>), so a drain can count them, send HTTP/2 clients away, and at hammer time abort
/// them.
/// </summary>
internal sealed class ConnectionTracker(TimeProvider time, ILoggerFactory loggers)
{
    /// <summary>
    /// How long a draining HTTP/2 connection waits for the ACK of its PING before Kestrel closes it anyway. A client
    /// answers within one round trip; one that does not answer in this long gets Kestrel's plain graceful close.
    /// </summary>
    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, TrackedConnection> _open = new(StringComparer.Ordinal);

    private readonly ILogger _logger = loggers.CreateLogger("Baton");

    public ConnectionTracker()
        : this(TimeProvider.System, NullLoggerFactory.Instance)
    {
    }

    public int Count => _open.Count;

    public IEnumerable<ConnectionContext> Open => _open.Values;

    /// <summary>Starts tracking; Kestrel is to be given the returned connection.</summary>
    public ConnectionContext Track(ConnectionContext connection)
    {
        var tracked = new TrackedConnection(connection, time, PingTimeout, OnSentAway);
        _open[connection.ConnectionId] = tracked;
        connection.ConnectionClosed.UnsafeRegister(
            static state =>
            {
                var (tracker, closed) = ((ConnectionTracker, TrackedConnection))state!;
                tracker._open.TryRemove(new KeyValuePair<string, TrackedConnection>(closed.ConnectionId, closed));
            },
            (this, tracked));
        return tracked;
    }

    /// <summary>
    /// Sends one HTTP/2 client away: GOAWAY(2^31-1) and a PING, and after its ACK Kestrel's graceful close (the final
    /// GOAWAY, streams in flight finish). HTTP/2 has no <c>Connection: close</c>. A connection not known to be HTTP/2
    /// gets Kestrel's graceful close straight away.
    /// </summary>
    public void SendAway(string connectionId)
    {
        if (_open.TryGetValue(connectionId, out var connection))
        {
            if (connection.IsHttp2)
            {
                connection.SendAway();
            }
            else
            {
                connection.RequestClose();
            }
        }
    }

    /// <summary>
    /// Sends every HTTP/2 client away at the start of a drain, busy or idle, so each moves to the successor at once
    /// instead of at its next request or at <see cref="BatonOptions.DrainIdleTimeout"/>. Returns how many were.
    /// </summary>
    public int SendAwayHttp2()
    {
        var sent = 0;
        foreach (var connection in _open.Values)
        {
            connection.SendAway();
            sent += connection.IsHttp2 ? 1 : 0;
        }

        if (sent > 0)
        {
            Log.Http2SentAway(_logger, Environment.ProcessId, sent);
        }

        return sent;
    }

    private void OnSentAway(TrackedConnection connection, bool acked)
    {
        if (!_open.ContainsKey(connection.ConnectionId))
        {
            // Closed meanwhile (a client may hang up on the GOAWAY without answering the PING): nothing to warn about.
            return;
        }

        if (!acked)
        {
            Log.Http2PingUnanswered(_logger, Environment.ProcessId, connection.ConnectionId, (long)PingTimeout.TotalMilliseconds);
        }

        connection.RequestClose();
    }

    public int AbortAll(string reason)
    {
        var aborted = 0;
        foreach (var connection in _open.Values)
        {
            connection.Abort(new ConnectionAbortedException(reason));
            aborted++;
        }

        return aborted;
    }
}
