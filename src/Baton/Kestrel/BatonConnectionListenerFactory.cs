using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Kestrel;

/// <summary>
/// Kestrel's socket transport, with every listener wrapped in a <see cref="GatedListener"/> and registered, so the
/// handover knows each listening descriptor and can stop accepting before anything is closed.
/// </summary>
internal sealed class BatonConnectionListenerFactory(
    IOptions<SocketTransportOptions> transportOptions,
    ILoggerFactory loggerFactory,
    ListenerRegistry registry,
    ConnectionTracker tracker,
    ConnectionMover mover) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly SocketTransportFactory _sockets = new(transportOptions, loggerFactory);
    private readonly ILogger _logger = loggerFactory.CreateLogger("Baton");

    public bool CanBind(EndPoint endpoint) => _sockets.CanBind(endpoint);

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var inner = await _sockets.BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
        var (socket, adopted) = registry.TakeSocketCreatedFor(endpoint);
        var listener = new GatedListener(
            inner, socket, inherited: adopted is not null, tracker, registry, activated: adopted?.Activated ?? false,
            socketFileRemoved: path => Log.UnixSocketRemoved(_logger, Environment.ProcessId, path), mover: mover);
        if (!registry.Add(listener))
        {
            // Bound while this process drains (only a reload Kestrel does itself binds this late): the successor
            // serves the endpoint, or will after the next handover; this process takes no connection on it.
            await listener.StopAcceptingAsync(keepSocketOpen: false).ConfigureAwait(false);
        }

        return listener;
    }
}
