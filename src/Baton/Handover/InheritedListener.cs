using System.Net;
using System.Net.Sockets;

namespace Baton.Handover;

/// <summary>A listening socket handed from one generation to the next: its descriptor and the endpoint it is bound to.</summary>
internal sealed record InheritedListener(int Descriptor, EndPoint EndPoint)
{
    /// <summary>
    /// Passed to the first generation by the service manager (socket activation), which holds the socket too: no
    /// generation removes its Unix socket file, for the socket unit still listens there.
    /// </summary>
    public bool Activated { get; init; }

    public string Describe() => FormatEndPoint(EndPoint);

    public static string FormatEndPoint(EndPoint endPoint) => endPoint switch
    {
        IPEndPoint ip => "tcp:" + ip.ToString(),
        UnixDomainSocketEndPoint unix => "unix:" + unix.ToString(),
        _ => throw new NotSupportedException($"Baton cannot hand over a listener bound to {endPoint} ({endPoint.GetType().Name})."),
    };

    /// <summary>The file a Unix socket bound to <paramref name="endPoint"/> has; null for TCP and for an abstract socket (no file).</summary>
    public static string? SocketFilePath(EndPoint endPoint) =>
        endPoint is UnixDomainSocketEndPoint unix && unix.ToString() is { Length: > 0 } path && path[0] is not ('\0' or '@') ? path : null;

    public static bool TryParseEndPoint(string text, out EndPoint? endPoint)
    {
        endPoint = null;
        if (text.StartsWith("tcp:", StringComparison.Ordinal)
            && IPEndPoint.TryParse(text.AsSpan(4), out var ip))
        {
            endPoint = ip;
            return true;
        }

        if (text.StartsWith("unix:", StringComparison.Ordinal) && text.Length > 5)
        {
            endPoint = new UnixDomainSocketEndPoint(text[5..]);
            return true;
        }

        return false;
    }

    public static bool SameEndPoint(EndPoint a, EndPoint b) => (a, b) switch
    {
        (IPEndPoint x, IPEndPoint y) => x.Port == y.Port && NormalizeAddress(x.Address).Equals(NormalizeAddress(y.Address)),
        (UnixDomainSocketEndPoint x, UnixDomainSocketEndPoint y) => string.Equals(x.ToString(), y.ToString(), StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>
    /// Whether a socket bound to <paramref name="bound"/> serves what Kestrel asks for with <paramref name="requested"/>:
    /// the same endpoint, or the same address when Kestrel asks for port 0 (any port) - the port the first
    /// generation got is the one every later generation must keep.
    /// </summary>
    public static bool Serves(EndPoint bound, EndPoint requested) =>
        SameEndPoint(bound, requested)
        || (requested is IPEndPoint { Port: 0 } wanted && bound is IPEndPoint have
            && NormalizeAddress(have.Address).Equals(NormalizeAddress(wanted.Address)));

    private static IPAddress NormalizeAddress(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
