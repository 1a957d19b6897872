using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Baton.Kestrel;

/// <summary>
/// Drives requests through the app's own pipeline before a successor reports ready: in-memory HTTP/1.1 connections
/// handed to Kestrel through a listener whose gate is still closed, so the JIT compiles Kestrel's parser, the
/// middleware, routing and the endpoints while the predecessor still serves every client. Without it, the first real
/// requests pay for that, and under the JIT a handover showed as a p99 several times the steady one.
/// </summary>
/// <remarks>
/// A path the app named is waited for until the warm-up's budget ends. A path found in the app's endpoints waits for
/// its response head at most <see cref="FoundPathHeadWait"/>, then is abandoned (its connection aborted): by then its
/// handler has run, which is what warms it, and a slow or streaming endpoint found that way does not hold the
/// handover. Nothing a request answers can fail the start: a warm-up only ever makes later requests faster.
/// </remarks>
internal sealed class WarmUp
{
    /// <summary>Connection ids of warm-up connections start with this (see <see cref="BatonHttpContextExtensions.IsBatonWarmUp"/>).</summary>
    public const string ConnectionIdPrefix = "baton-warm-up-";

    /// <summary>Paths found in the app's endpoints are capped at this many.</summary>
    public const int MaxDiscoveredPaths = 32;

    /// <summary>Each path is requested this many times, one round after the other (a second call runs code the first only set up).</summary>
    public const int Rounds = 2;

    /// <summary>How long a request to a path found in the app's endpoints waits for its response head.</summary>
    public static readonly TimeSpan FoundPathHeadWait = TimeSpan.FromMilliseconds(250);
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
    /// A listener Kestrel serves plain HTTP on - one with an "http://" address on its port (or Unix path) - and the
    /// Host to send; null when every endpoint is HTTPS (the in-memory requests carry no TLS).
    /// </summary>
    public static (GatedListener Listener, string Host)? PlainHttpListener(IEnumerable<string> addresses, IReadOnlyList<GatedListener> listeners)
    {
        foreach (var address in addresses)
        {
            if (!address.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var listener in listeners)
            {
                switch (listener.LocalEndPoint)
                {
                    case IPEndPoint ip when Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Port == ip.Port:
                        return (listener, uri.Authority);
                    case System.Net.Sockets.UnixDomainSocketEndPoint unix when address.EndsWith(unix.ToString(), StringComparison.Ordinal):
                        return (listener, "localhost");
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Requests every path <see cref="Rounds"/> times through <paramref name="listener"/> (the paths of a round at once);
    /// ends early at <paramref name="budget"/>. Returns what was answered.
    /// </summary>
    public static async Task<WarmUpReport> RunAsync(
        GatedListener listener, string host, IReadOnlyList<string> paths, TimeSpan headWait, TimeSpan budget, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(budget);
        var statuses = new List<int>();
        for (var round = 0; round < Rounds && paths.Count > 0 && !deadline.IsCancellationRequested; round++)
        {
            var answers = await Task.WhenAll(paths.Select(path => RequestAsync(listener, host, path, headWait, deadline.Token))).ConfigureAwait(false);
            statuses.AddRange(answers);

            // A path without an answer in time is slow by nature (or streams): once is enough to have run its handler.
            paths = [.. paths.Where((_, i) => answers[i] != 0)];
        }

        return new WarmUpReport(statuses, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>One request on its own in-memory connection; the response's status code, or 0 when none came in time.</summary>
    private static async Task<int> RequestAsync(GatedListener listener, string host, string path, TimeSpan headWait, CancellationToken cancellationToken)
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var id = ConnectionIdPrefix + Interlocked.Increment(ref s_connections).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var connection = new WarmUpConnection(id, new DuplexPipe(toServer.Reader, toClient.Writer))
        {
            LocalEndPoint = listener.LocalEndPoint,
            RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
        };

        var request = $"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Baton-WarmUp\r\nConnection: close\r\n\r\n";
        await toServer.Writer.WriteAsync(Encoding.ASCII.GetBytes(request), CancellationToken.None).ConfigureAwait(false);
        listener.WarmUp(connection);

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(headWait);
        var status = 0;
        try
        {
            while (true)
            {
                var result = await toClient.Reader.ReadAsync(wait.Token).ConfigureAwait(false);
                if (TryReadStatus(result.Buffer, out status) || result.IsCompleted)
                {
                    toClient.Reader.AdvanceTo(result.Buffer.End);
                    break;
                }

                toClient.Reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        }
        catch (OperationCanceledException)
        {
            // No head in time: abandoned below, like a client that gave up.
        }

        // The connection is not needed any more: Kestrel sees the client gone (its handler's RequestAborted fires), and
        // whatever the handler still writes goes nowhere.
        connection.Abort();
        await toServer.Writer.CompleteAsync().ConfigureAwait(false);
        await toClient.Reader.CompleteAsync().ConfigureAwait(false);
        return status;
    }

    /// <summary>The status code of a response head once its first line is complete ("HTTP/1.1 200 OK\r\n").</summary>
    internal static bool TryReadStatus(ReadOnlySequence<byte> buffer, out int status)
    {
        status = 0;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySpan<byte> line, "\r\n"u8))
        {
            return false;
        }

        var text = Encoding.ASCII.GetString(line);
        var parts = text.Split(' ', 3);
        return parts.Length >= 2 && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out status);
    }

    /// <summary>"/", "/api/v1/tags" - from a pattern without parameters.</summary>
    private static string PathOf(RoutePattern pattern)
    {
        var text = pattern.RawText ?? string.Join('/', pattern.PathSegments.Select(s => string.Concat(s.Parts.OfType<RoutePatternLiteralPart>().Select(p => p.Content))));
        text = text.TrimStart('~');
        return text.StartsWith('/') ? text : "/" + text;
    }

    /// <summary>
    /// An in-memory connection. Unlike DefaultConnectionContext, its abort cancels at once and its token is never
    /// disposed: that one cancels on the thread pool, and once raced Kestrel's dispose (ObjectDisposedException on a
    /// pool thread ends the process).
    /// </summary>
    private sealed class WarmUpConnection(string id, IDuplexPipe transport) : ConnectionContext
    {
        private readonly CancellationTokenSource _closed = new();

        public override string ConnectionId { get; set; } = id;

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override IDictionary<object, object?> Items { get; set; } = new ConnectionItems();

        public override IDuplexPipe Transport { get; set; } = transport;

        public override CancellationToken ConnectionClosed
        {
            get => _closed.Token;
            set { }
        }

        public override void Abort(ConnectionAbortedException abortReason) => _closed.Cancel();

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}

/// <summary>What a warm-up got: one status code per request (0: none in time), and how long it took.</summary>
internal sealed record WarmUpReport(IReadOnlyList<int> Statuses, TimeSpan Elapsed)
{
    /// <summary>"200 x4, 404 x2, none x1".</summary>
    public string Summary => string.Join(", ", Statuses.GroupBy(s => s).OrderBy(g => g.Key == 0 ? int.MaxValue : g.Key)
        .Select(g => $"{(g.Key == 0 ? "none" : g.Key.ToString(System.Globalization.CultureInfo.InvariantCulture))} x{g.Count()}"));
}
