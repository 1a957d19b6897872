using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Kestrel;

/// <summary>Kestrel's listen-socket seam: an inherited socket when one serves the endpoint, else a fresh bind.</summary>
internal sealed class ListenSocketSetup(ListenerRegistry registry, ILoggerFactory loggerFactory) : IPostConfigureOptions<SocketTransportOptions>
{
    public void PostConfigure(string? name, SocketTransportOptions options)
    {
        var bindFresh = options.CreateBoundListenSocket;
        var logger = loggerFactory.CreateLogger("Baton");
        options.CreateBoundListenSocket = endPoint =>
        {
            var socket = registry.CreateListenSocket(endPoint, bindFresh, out var adopted);
            if (adopted is not null && !registry.IsSuccessor)
            {
                Log.AdoptedActivatedListener(logger, Environment.ProcessId, adopted.Describe(), adopted.Descriptor);
            }
            else if (adopted is not null)
            {
                Log.AdoptedListener(logger, Environment.ProcessId, adopted.Describe(), registry.ParentPid);
            }

            return socket;
        };
    }
}
