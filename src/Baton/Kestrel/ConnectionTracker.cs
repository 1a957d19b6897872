using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Baton.Kestrel;

/// <summary>Every connection this process accepted and has not yet closed, so a drain can count and, at hammer time, abort them.</summary>
internal sealed class ConnectionTracker
{
    private readonly ConcurrentDictionary<ConnectionContext, byte> _open = new();

    public int Count => _open.Count;

    public void Track(ConnectionContext connection)
    {
        _open.TryAdd(connection, 0);
        connection.ConnectionClosed.UnsafeRegister(
            static state =>
            {
                var (tracker, closed) = ((ConnectionTracker, ConnectionContext))state!;
                tracker._open.TryRemove(closed, out _);
            },
            (this, connection));
    }

    public int AbortAll(string reason)
    {
        var aborted = 0;
        foreach (var connection in _open.Keys)
        {
            connection.Abort(new ConnectionAbortedException(reason));
            aborted++;
        }

        return aborted;
    }
}
