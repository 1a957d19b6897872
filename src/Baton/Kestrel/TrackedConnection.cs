using System.Collections.Generic;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Baton.Kestrel;

/// <summary>
/// The accepted connection as Kestrel's pipeline sees it: everything is the transport's, except that each transport
/// handed out or set is wrapped in an <see cref="Http2DrainTransport"/>.
/// </summary>
/// <remarks>
/// Connection middleware cannot sit between TLS and HTTP for every endpoint (endpoint defaults run before
/// <c>UseHttps</c>, an endpoint from configuration gets its TLS after them), but TLS replaces
/// <see cref="Transport"/> with its decrypted pipe, and that goes through this setter. The wrapper that ends up under
/// HTTP/2 sees plaintext frames; the one under TLS sees a TLS record first, not the HTTP/2 preface, and stays a
/// pass-through.
/// </remarks>
internal sealed class TrackedConnection : ConnectionContext
{
    private readonly ConnectionContext _inner;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pingTimeout;
    private readonly Action<TrackedConnection, bool> _closeRequested;
    private IDuplexPipe _transport;
    private Http2DrainTransport? _http2;
    private volatile bool _sendAway;

    public TrackedConnection(ConnectionContext inner, TimeProvider time, TimeSpan pingTimeout, Action<TrackedConnection, bool> closeRequested)
    {
        _inner = inner;
        _time = time;
        _pingTimeout = pingTimeout;
        _closeRequested = closeRequested;
        // A connection without pipes (none from the socket transport) is left as it is.
        _transport = inner.Transport is null ? null! : Wrap(inner.Transport);
    }

    public ConnectionContext Inner => _inner;

    /// <summary>The connection speaks HTTP/2 (it sent the client preface).</summary>
    public bool IsHttp2 => Volatile.Read(ref _http2) is not null;

    public override IDuplexPipe Transport
    {
        get => _transport;
        set => _transport = value is null or Http2DrainTransport ? value! : Wrap(value);
    }

    public override string ConnectionId
    {
        get => _inner.ConnectionId;
        set => _inner.ConnectionId = value;
    }

    public override IFeatureCollection Features => _inner.Features;

    public override IDictionary<object, object?> Items
    {
        get => _inner.Items;
        set => _inner.Items = value;
    }

    public override CancellationToken ConnectionClosed
    {
        get => _inner.ConnectionClosed;
        set => _inner.ConnectionClosed = value;
    }

    public override EndPoint? LocalEndPoint
    {
        get => _inner.LocalEndPoint;
        set => _inner.LocalEndPoint = value;
    }

    public override EndPoint? RemoteEndPoint
    {
        get => _inner.RemoteEndPoint;
        set => _inner.RemoteEndPoint = value;
    }

    public override void Abort() => _inner.Abort();

    public override void Abort(ConnectionAbortedException abortReason) => _inner.Abort(abortReason);

    public override ValueTask DisposeAsync() => _inner.DisposeAsync();

    /// <summary>
    /// Tells an HTTP/2 client to take its next requests elsewhere, without refusing a stream (see
    /// <see cref="Http2DrainTransport"/>). A connection whose protocol is not known yet is sent away once it shows
    /// HTTP/2; HTTP/1.x is left alone (it gets <c>Connection: close</c> on its next response).
    /// </summary>
    public void SendAway()
    {
        _sendAway = true;
        Volatile.Read(ref _http2)?.SendAway();
    }

    /// <summary>Kestrel's own graceful close: GOAWAY, the streams in flight finish, then the connection closes.</summary>
    public void RequestClose()
    {
        try
        {
            _inner.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile: nothing left to ask.
        }
    }

    private Http2DrainTransport Wrap(IDuplexPipe transport) => new(
        transport,
        _time,
        _pingTimeout,
        isHttp2: http2 =>
        {
            Volatile.Write(ref _http2, http2);
            if (_sendAway)
            {
                http2.SendAway();
            }
        },
        requestClose: acked => _closeRequested(this, acked));
}
