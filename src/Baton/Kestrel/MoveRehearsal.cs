using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Baton.Handover;
using Baton.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton.Kestrel;

/// <summary>
/// Moves one warm-up connection from this process to itself, through the code a handover moves connections with: the
/// idle connection detached from Kestrel, its descriptor sent down a Unix socket with a "moved" line, read back, made a
/// Kestrel connection again, and its next request answered there.
/// </summary>
/// <remarks>
/// A process moves connections once in its life - at its own handover, while each of its clients waits for its next
/// answer - and receives them once, at its "go". Under the JIT, that code on both sides was compiled in that moment,
/// request by request: traced under wrk, the first move of a serving process came 10-20 ms after it began to move, and
/// every connection's next request waited for it. Rehearsed while the process warms up, before it serves anyone, the
/// code is compiled when nobody waits. A rehearsal that fails says so in the log and changes nothing else.
/// </remarks>
internal static class MoveRehearsal
{
    private const int MaxKept = 64 * 1024;

    /// <summary>
    /// Runs it through <paramref name="target"/> (plain HTTP: a TLS session cannot move) with two requests for
    /// <paramref name="path"/>, the second on the moved connection; at most <paramref name="timeout"/>. Returns what
    /// went wrong, null when the connection moved and both requests were answered.
    /// </summary>
    public static async Task<string?> RunAsync(
        WarmUpTarget target, WarmUp.LoopbackConnections loopback, string path, ConnectionMover receiver, IReadOnlyList<GatedListener> listeners,
        IOptions<BatonOptions> options, ILoggerFactory loggerFactory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var (sending, receiving) = Descriptors.CreateSocketPair();
        using var mover = new ConnectionMover(options, loggerFactory);
        var original = -1;
        var taken = Task.Run(() => ReceiveOne(receiving, receiver, listeners, () => Volatile.Read(ref original), timeout), CancellationToken.None);
        try
        {
            var (client, connection) = await loopback.ConnectAsync(WarmUp.ConnectionIdPrefix + "move-rehearsal", deadline.Token).ConfigureAwait(false);
            using (client)
            {
                // Its descriptor's number as accepted: the one the connection must not come back under (see ReceiveOne).
                original = connection.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature>()?.Socket is { } socket ? (int)socket.Handle : -1;
                if (!target.Listener.WarmUp(connection, mover))
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    return "this process stops accepting";
                }

                using var stream = new NetworkStream(client, ownsSocket: false);
                var request = $"GET {path} HTTP/1.1\r\nHost: {target.Host}\r\nUser-Agent: Baton-WarmUp\r\n";

                // The first answer comes from the connection as accepted. Only then does it move: the way a handover
                // finds most connections, idle between two requests, its last answer written.
                await stream.WriteAsync(Encoding.ASCII.GetBytes(request + "\r\n"), deadline.Token).ConfigureAwait(false);
                var received = new List<byte>();
                if (!await ReadAsync(stream, received, untilHeadEnds: true, deadline.Token).ConfigureAwait(false))
                {
                    return "no answer before the move";
                }

                mover.MoveTo(new ThisProcess(sending), [connection]);
                if (!await taken.WaitAsync(deadline.Token).ConfigureAwait(false))
                {
                    return mover.MovedCount == 0 ? "the connection did not move" : "the moved connection was not taken back";
                }

                // Up to the end of input (the request closes): what came after the first head is the rest of the first
                // response, then the second, from the connection as moved.
                await stream.WriteAsync(Encoding.ASCII.GetBytes(request + "Connection: close\r\n\r\n"), deadline.Token).ConfigureAwait(false);
                var headEnd = received.Count;
                await ReadAsync(stream, received, untilHeadEnds: false, deadline.Token).ConfigureAwait(false);
                return Encoding.ASCII.GetString(received.ToArray(), headEnd, received.Count - headEnd).Contains("HTTP/1.", StringComparison.Ordinal)
                    ? null : "no answer on the moved connection";
            }
        }
        catch (OperationCanceledException)
        {
            return $"not done within {timeout.TotalMilliseconds:0} ms";
        }
        catch (Exception ex) when (ex is IOException or SocketException or PosixException)
        {
            return ex.Message;
        }
        finally
        {
            // Nothing moves through the sending end once it is closed (a move still under way after a timeout would
            // otherwise write to whatever reuses its number); closing it ends the receiving loop if nothing came.
            mover.StopMoving();
            Descriptors.Close(sending);
            await ((Task)taken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Reads "moved" lines from <paramref name="channel"/> until one brings a connection that is taken; closes the channel.</summary>
    /// <remarks>
    /// Unlike a real move, the connection comes back into the process it left, whose epoll set still holds it under
    /// its old descriptor number (a descriptor replaced with dup2, as a move detaches it, is not taken out of an epoll
    /// set while the socket lives on elsewhere). Received under that same number - free again once Kestrel closed the
    /// stand-in - the socket could not be registered again (EEXIST), and the connection failed: it is moved to another
    /// number first.
    /// </remarks>
    private static bool ReceiveOne(int channel, ConnectionMover receiver, IReadOnlyList<GatedListener> listeners, Func<int> original, TimeSpan timeout)
    {
        var reader = new LineReader(channel, receivesDescriptors: true);
        var waited = Stopwatch.StartNew();
        try
        {
            while (waited.Elapsed < timeout)
            {
                var read = reader.Read(timeout - waited.Elapsed);
                if (read.IsEndOfFile)
                {
                    return false;
                }

                if (read.Line is not null && HandshakeMessage.Parse(read.Line) is MovedMessage moved && reader.TakeDescriptor() is var fd and >= 0)
                {
                    if (fd == original())
                    {
                        var elsewhere = ConnectionPassing.Duplicate(fd);
                        Descriptors.Close(fd);
                        fd = elsewhere;
                    }

                    if (receiver.Receive(fd, moved.Listener, moved.Unread, listeners, Environment.ProcessId, rehearsal: true))
                    {
                        return true;
                    }

                    Descriptors.Close(fd);
                    return false;
                }
            }

            return false;
        }
        finally
        {
            reader.CloseDescriptors();
            Descriptors.Close(channel);
        }
    }

    /// <summary>
    /// Reads into <paramref name="received"/>: up to the end of a response head (<paramref name="untilHeadEnds"/>), or
    /// of input. False when input ended first, or when what was read is not a response.
    /// </summary>
    private static async Task<bool> ReadAsync(Stream stream, List<byte> received, bool untilHeadEnds, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        int read;
        while (received.Count < MaxKept && (read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            received.AddRange(buffer.AsSpan(0, read));
            if (untilHeadEnds && CollectionsMarshal.AsSpan(received).IndexOf("\r\n\r\n"u8) >= 0)
            {
                return WarmUp.StatusCodes(Encoding.ASCII.GetString(received.ToArray())).Length > 0;
            }
        }

        return !untilHeadEnds;
    }

    /// <summary>The successor a rehearsal moves to: this very process, through one end of a socket pair.</summary>
    private sealed class ThisProcess(int channel) : ISuccessorProcess
    {
        public int Pid => Environment.ProcessId;

        public bool MoveConnection(int fd, string listener, ReadOnlySpan<byte> unread) => SpawnedSuccessor.SendConnection(channel, fd, listener, unread);

        public HandshakeRead Read(TimeSpan timeout) => throw new NotSupportedException();

        public bool Accept(int openConnections) => throw new NotSupportedException();

        public void ReportDraining(int connections)
        {
        }

        public void Kill() => throw new NotSupportedException();

        public void Hurry()
        {
        }

        public ChildExit? TryReap() => null;

        public string? LastWords() => null;

        public void Dispose()
        {
        }
    }
}
