using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Baton.Kestrel;

/// <summary>
/// Every connection this process accepted and has not yet closed, by Kestrel's connection id (the one requests see
/// as <c>HttpContext.Connection.Id</c>), so a drain can count them, ask one to close, and at hammer time abort them.
/// </summary>
internal sealed class ConnectionTracker
{
    private readonly ConcurrentDictionary<string, ConnectionContext> _open = new(StringComparer.Ordinal);

    public int Count => _open.Count;

    public IEnumerable<ConnectionContext> Open => _open.Values;

    public void Track(ConnectionContext connection)
    {
        _open[connection.ConnectionId] = connection;
        connection.ConnectionClosed.UnsafeRegister(
            static state =>
            {
                var (tracker, closed) = ((ConnectionTracker, ConnectionContext))state!;
                tracker._open.TryRemove(new KeyValuePair<string, ConnectionContext>(closed.ConnectionId, closed));
            },
            (this, connection));
    }

    /// <summary>
    /// Asks Kestrel to end a connection gracefully: for HTTP/2 a GOAWAY, after which the client opens its next
    /// connection elsewhere and the streams in flight finish. HTTP/2 has no <c>Connection: close</c>.
    /// </summary>
    public void RequestClose(string connectionId)
    {
        if (_open.TryGetValue(connectionId, out var connection))
        {
            connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }
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
