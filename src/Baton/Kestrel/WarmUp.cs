using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.Security;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Baton.Kestrel;

/// <summary>
/// Drives requests through the app's own pipeline before a successor reports ready: real TCP connections over loopback,
/// through a listener of the warm-up's own, handed to Kestrel as if accepted on a listener whose gate is still closed.
/// So the JIT compiles the socket transport, Baton's connection wrappers, TLS (for an HTTPS endpoint), Kestrel's parser
/// and keep-alive, the middleware, routing and the endpoints while the predecessor still serves every client. Without
/// it, the first real requests pay for that, and under the JIT a handover showed as a p99 several times the steady one.
/// </summary>
/// <remarks>
/// A path the app named is waited for until the warm-up's budget ends. A path found in the app's endpoints waits for
/// its response head at most <see cref="FoundPathHeadWait"/>, then is abandoned (its connection closed): by then its
/// handler has run, which is what warms it, and a slow or streaming endpoint found that way does not hold the
/// handover. Nothing a request answers can fail the start: a warm-up only ever makes later requests faster.
/// </remarks>
internal sealed partial class WarmUp
{
    /// <summary>Connection ids of warm-up connections start with this (see <see cref="BatonHttpContextExtensions.IsBatonWarmUp"/>).</summary>
    public const string ConnectionIdPrefix = "baton-warm-up-";

    /// <summary>Paths found in the app's endpoints are capped at this many.</summary>
    public const int MaxDiscoveredPaths = 32;

    /// <summary>
    /// Each path gets this many connections, one round after the other (a second call runs code the first only set up),
    /// with two requests each: one kept alive, then one that closes.
    /// </summary>
    public const int Rounds = 2;

    /// <summary>How long a request to a path found in the app's endpoints waits for its response head.</summary>
    public static readonly TimeSpan FoundPathHeadWait = TimeSpan.FromMilliseconds(250);
    private const int MaxKept = 64 * 1024;
    private static int s_connections;

    /// <summary>
    /// The paths a default warm-up requests: every endpoint the app maps that answers GET without route parameters,
    /// in the order mapped.
    /// </summary>
    public static IReadOnlyList<string> DiscoverPaths(EndpointDataSource? endpoints)
    {
        if (endpoints is null)
        {
            return [];
        }

        var paths = new List<string>();
        foreach (var endpoint in endpoints.Endpoints)
        {
            // Not health checks: in a process that does not serve yet, readiness is Unhealthy, and the health check
            // service logs that as an error on every handover.
            if (endpoint is not RouteEndpoint route || route.RoutePattern.Parameters.Count > 0 || endpoint.DisplayName == "Health checks")
            {
                continue;
            }

            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
            if (methods is { Count: > 0 } && !methods.Contains(HttpMethods.Get, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var path = PathOf(route.RoutePattern);
            if (!paths.Contains(path, StringComparer.Ordinal))
            {
                paths.Add(path);
            }

            if (paths.Count == MaxDiscoveredPaths)
            {
                break;
            }
        }

        return paths;
    }

    /// <summary>
    /// The listener to send the warm-up through and the Host to send: one Kestrel serves plain HTTP on (an "http://"
    /// address on its port, or Unix path), else one it serves HTTPS on, whose TLS is then warmed too; null when no
    /// address matches a listener.
    /// </summary>
    public static WarmUpTarget? Target(IEnumerable<string> addresses, IReadOnlyList<GatedListener> listeners)
    {
        WarmUpTarget? tls = null;
        foreach (var address in addresses)
        {
            var secure = address.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            if (!secure && !address.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var listener in listeners)
            {
                WarmUpTarget? found = listener.LocalEndPoint switch
                {
                    IPEndPoint ip when Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Port == ip.Port => new(listener, uri.Authority, secure),
                    UnixDomainSocketEndPoint unix when address.EndsWith(unix.ToString(), StringComparison.Ordinal) => new(listener, "localhost", secure),
                    _ => null,
                };
                if (found is { Tls: false })
                {
                    return found;
                }

                tls ??= found;
            }
        }

        return tls;
    }

    /// <summary>
    /// Requests every path <paramref name="rounds"/> times (by default <see cref="Rounds"/>) through
    /// <paramref name="target"/> (the paths of a round at once); ends early at <paramref name="budget"/>. Returns what
    /// was answered.
    /// </summary>
    public static async Task<WarmUpReport> RunAsync(
        WarmUpTarget target, LoopbackConnections loopback, IReadOnlyList<string> paths, TimeSpan headWait, TimeSpan budget, CancellationToken cancellationToken, int rounds = Rounds)
    {
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(budget);
        var statuses = new List<int>();
        for (var round = 0; round < rounds && paths.Count > 0 && !deadline.IsCancellationRequested; round++)
        {
            var answers = await Task.WhenAll(paths.Select(path => RequestAsync(target, loopback, path, headWait, deadline.Token))).ConfigureAwait(false);
            foreach (var answer in answers)
            {
                statuses.AddRange(answer);
            }

            // A path without an answer in time is slow by nature (or streams): once is enough to have run its handler.
            paths = [.. paths.Where((_, i) => answers[i][0] != 0)];
        }

        return new WarmUpReport(statuses, Stopwatch.GetElapsedTime(started)) { Answered = paths };
    }

    /// <summary>
    /// Two requests (keep-alive, then close) on a connection of its own. Returns the status code of each response
    /// received; [0] when none came in time.
    /// </summary>
    private static async Task<int[]> RequestAsync(WarmUpTarget target, LoopbackConnections loopback, string path, TimeSpan headWait, CancellationToken cancellationToken)
    {
        var id = ConnectionIdPrefix + Interlocked.Increment(ref s_connections).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var received = new List<byte>();
        try
        {
            var (client, connection) = await loopback.ConnectAsync(id, cancellationToken).ConfigureAwait(false);
            using (client)
            {
                if (!target.Listener.WarmUp(connection))
                {
                    // The process stops: nothing would answer.
                    await connection.DisposeAsync().ConfigureAwait(false);
                    return [0];
                }

                Stream stream = new NetworkStream(client, ownsSocket: false);
                await using (stream.ConfigureAwait(false))
                {
                    if (target.Tls)
                    {
                        // The handshake is part of what is warmed, and waits as long as the whole warm-up may.
                        var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                        stream = tls;
                        await tls.AuthenticateAsClientAsync(TlsOptions(target.Host), cancellationToken).ConfigureAwait(false);
                    }

                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    wait.CancelAfter(headWait);
                    var request = $"GET {path} HTTP/1.1\r\nHost: {target.Host}\r\nUser-Agent: Baton-WarmUp\r\n\r\n"
                        + $"GET {path} HTTP/1.1\r\nHost: {target.Host}\r\nUser-Agent: Baton-WarmUp\r\nConnection: close\r\n\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(request), wait.Token).ConfigureAwait(false);

                    // Up to the end of the second response (Kestrel closes after it), or until the wait is over. Only the
                    // start is kept: enough for the status lines of two small responses.
                    var buffer = new byte[16 * 1024];
                    int read;
                    while ((read = await stream.ReadAsync(buffer, wait.Token).ConfigureAwait(false)) > 0)
                    {
                        received.AddRange(buffer.AsSpan(0, Math.Min(read, Math.Max(0, MaxKept - received.Count))));
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or System.Security.Authentication.AuthenticationException)
        {
            // No answer in time, or the connection failed: it is closed, like a client that gave up.
        }

        var statuses = StatusCodes(Encoding.ASCII.GetString(received.ToArray()));
        return statuses.Length > 0 ? statuses : [0];
    }

    /// <summary>Warm-up connections accept whatever certificate is served: they only ever talk to this process.</summary>
    private static SslClientAuthenticationOptions TlsOptions(string host) => new()
    {
        // An address, bracketed or not, sends no server name (SNI); a name is sent as it is.
        TargetHost = Uri.TryCreate("https://" + host, UriKind.Absolute, out var uri) ? uri.IdnHost.Trim('[', ']') : "localhost",
        ApplicationProtocols = [SslApplicationProtocol.Http11],
        RemoteCertificateValidationCallback = static (_, _, _, _) => true,
    };

    /// <summary>The status codes of the responses in <paramref name="received"/> ("HTTP/1.1 200 OK" at the start of a line).</summary>
    internal static int[] StatusCodes(string received) =>
        [.. StatusLine().Matches(received).Select(m => int.Parse(m.Groups[1].ValueSpan, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture))];

    [System.Text.RegularExpressions.GeneratedRegex(@"(?:^|\r\n)HTTP/1\.[01] (\d{3})")]
    private static partial System.Text.RegularExpressions.Regex StatusLine();

    /// <summary>"/", "/api/v1/tags" - from a pattern without parameters.</summary>
    private static string PathOf(RoutePattern pattern)
    {
        var text = pattern.RawText ?? string.Join('/', pattern.PathSegments.Select(s => string.Concat(s.Parts.OfType<RoutePatternLiteralPart>().Select(p => p.Content))));
        text = text.TrimStart('~');
        return text.StartsWith('/') ? text : "/" + text;
    }

    /// <summary>
    /// Connected pairs of TCP sockets over loopback, through a listener of the warm-up's own (never the shared one), the
    /// server ends wrapped by Kestrel's socket transport.
    /// </summary>
    internal sealed class LoopbackConnections : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly SocketConnectionContextFactory _factory;
        private readonly SemaphoreSlim _oneAtATime = new(1, 1);

        public LoopbackConnections(Microsoft.Extensions.Logging.ILogger logger)
        {
            _factory = new SocketConnectionContextFactory(new SocketConnectionFactoryOptions(), logger);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(MaxDiscoveredPaths);
        }

        public async Task<(Socket Client, ConnectionContext Server)> ConnectAsync(string id, CancellationToken cancellationToken)
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                // One connect-and-accept at a time, so the accepted socket is this client's.
                await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
                Socket accepted;
                try
                {
                    await client.ConnectAsync(_listener.LocalEndPoint!, cancellationToken).ConfigureAwait(false);
                    accepted = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _oneAtATime.Release();
                }

                var connection = _factory.Create(accepted);
                connection.ConnectionId = id;
                return (client, connection);
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            _listener.Dispose();
            _factory.Dispose();
            _oneAtATime.Dispose();
        }
    }
}

/// <summary>Where a warm-up goes: a listener, the Host its requests name, and whether it speaks TLS.</summary>
internal sealed record WarmUpTarget(GatedListener Listener, string Host, bool Tls);

/// <summary>What a warm-up got: one status code per request (0: none in time), and how long it took.</summary>
internal sealed record WarmUpReport(IReadOnlyList<int> Statuses, TimeSpan Elapsed)
{
    /// <summary>The paths answered in time every round: the ones worth requesting again.</summary>
    public IReadOnlyList<string> Answered { get; init; } = [];

    /// <summary>"200 x4, 404 x2, none x1".</summary>
    public string Summary => string.Join(", ", Statuses.GroupBy(s => s).OrderBy(g => g.Key == 0 ? int.MaxValue : g.Key)
        .Select(g => $"{(g.Key == 0 ? "none" : g.Key.ToString(System.Globalization.CultureInfo.InvariantCulture))} x{g.Count()}"));
}
