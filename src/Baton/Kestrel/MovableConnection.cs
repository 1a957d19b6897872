using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Baton.Interop;

namespace Baton.Kestrel;

/// <summary>
/// The input of one accepted TCP connection as Kestrel reads it, and what is needed to pass the connection to the
/// successor while it sits between two requests. It hands Kestrel the transport's buffers as they are (no copy) and
/// keeps count of the bytes Kestrel consumed. Once the process hands over, the next time Kestrel asks for more data
/// with everything it was given consumed, no request running and the last one without a body, the connection moves:
/// its descriptor and every byte already read from it that Kestrel never saw go to the successor, and Kestrel gets an
/// end of input, as if the client had closed between requests - it writes nothing and lets the connection go.
/// </summary>
/// <remarks>
/// Also the connection feature the drain middleware finds the connection's state by.
/// </remarks>
internal sealed class MovableConnection : PipeReader
{
    private readonly PipeReader _inner;
    private readonly ConnectionMover _mover;
    private readonly Socket? _socket;
    private readonly string _listener;
    private readonly string _connectionId;

    // Bytes read from the socket that are no longer in the transport's buffer: consumed by Kestrel here, or (for a
    // connection moved in) read by the processes before this one. Compared with what the kernel says was read.
    private long _consumed;

    // Bytes written to the connection: by Kestrel here (counted as it advances the transport's output), or before.
    private long _written;
    private ReadOnlySequence<byte> _lastBuffer;
    private bool _leftover;
    private long _leftoverLength;
    private bool _examinedAll;
    private bool _delivered;
    private int _reading;
    private int _kestrelCancelled;
    private int _requestsActive;
    private volatile bool _cleanBoundary = true;
    private volatile bool _neverMovable;
    private int _moved;

    /// <param name="inner">The transport's input.</param>
    /// <param name="mover">The process-wide switch and the successor the connection would go to.</param>
    /// <param name="socket">The connection's socket; null (never movable) unless it is TCP.</param>
    /// <param name="listener">The listener it was accepted on, as the successor's listener on the same socket names it.</param>
    /// <param name="connectionId">Kestrel's id, for the log.</param>
    /// <param name="alreadyRead">Bytes of the connection read before the transport's first one (by predecessors).</param>
    /// <param name="alreadyWritten">Bytes written to the connection before (by predecessors).</param>
    public MovableConnection(PipeReader inner, ConnectionMover mover, Socket? socket, string listener, string connectionId, long alreadyRead = 0, long alreadyWritten = 0)
    {
        _written = alreadyWritten;
        _inner = inner;
        _mover = mover;
        _socket = socket;
        _listener = listener;
        _connectionId = connectionId;
        _consumed = alreadyRead;
        _neverMovable = socket is null;
    }

    /// <summary>Kestrel waits in <see cref="ReadAsync"/> right now.</summary>
    public bool IsReading => Volatile.Read(ref _reading) == 1;

    public bool HasMoved => Volatile.Read(ref _moved) == 1;

    /// <summary>The transport's output, counted: a move waits until the transport has written all of it to the socket.</summary>
    public PipeWriter CountOutput(PipeWriter output) => new CountingWriter(output, this);

    /// <summary>
    /// A request started on the connection. <paramref name="plainHttp11"/>: HTTP/1.1 without TLS, the only kind that can
    /// move; <paramref name="leavesCleanBoundary"/>: it has no body and no upgrade, so once it is answered the next byte
    /// on the connection starts a new request.
    /// </summary>
    public void RequestStarted(bool plainHttp11, bool leavesCleanBoundary)
    {
        Interlocked.Increment(ref _requestsActive);
        if (!plainHttp11)
        {
            _neverMovable = true;
        }

        _cleanBoundary = leavesCleanBoundary;
    }

    public void RequestEnded() => Interlocked.Decrement(ref _requestsActive);

    /// <summary>
    /// During a drain: the connection of this request will move once the request is answered, so the response must not
    /// say <c>Connection: close</c>.
    /// </summary>
    public bool WillMove(bool leavesCleanBoundary) => _mover.IsMoving && !_neverMovable && leavesCleanBoundary;

    /// <summary>
    /// Wakes a Kestrel read that waits for the client, so that an idle connection is looked at now that the process
    /// hands over (the read comes back cancelled; this reader then moves the connection, or waits again).
    /// </summary>
    public void Nudge()
    {
        if (IsReading)
        {
            _inner.CancelPendingRead();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        Volatile.Write(ref _reading, 1);
        try
        {
            while (true)
            {
                ReadResult result;
                if (_mover.IsMoving && CanMove)
                {
                    if (!_inner.TryRead(out result))
                    {
                        // Idle at a clean boundary with nothing buffered: move now rather than wait for the client.
                        if (await MoveAsync(null).ConfigureAwait(false))
                        {
                            return new ReadResult(default, isCanceled: false, isCompleted: true);
                        }

                        result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                else
                {
                    result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
                }

                if (result.IsCanceled && Interlocked.Exchange(ref _kestrelCancelled, 0) == 0)
                {
                    // Our own nudge, not Kestrel's cancellation: Kestrel must never see it.
                    result = new ReadResult(result.Buffer, isCanceled: false, result.IsCompleted);
                    if (!result.IsCompleted && (result.Buffer.IsEmpty || (_examinedAll && result.Buffer.Length == _leftoverLength)))
                    {
                        // Nothing Kestrel has not seen: it goes on waiting, as it asked to.
                        _inner.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                        continue;
                    }
                }

                if (_mover.IsMoving && CanMove && !result.IsCanceled && !result.IsCompleted && await MoveAsync(result).ConfigureAwait(false))
                {
                    return new ReadResult(default, isCanceled: false, isCompleted: true);
                }

                return Deliver(result);
            }
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    public override bool TryRead(out ReadResult result)
    {
        if (_inner.TryRead(out result))
        {
            result = Deliver(result);
            return true;
        }

        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (HasMoved)
        {
            // Kestrel acknowledges the end of input this reader made up after the move. The transport's read it came
            // from, if any, the move has completed itself: passed on, this would throw ("No reading operation to
            // complete") and Kestrel would log each moved connection as ended abnormally.
            _lastBuffer = default;
            return;
        }

        var rest = _lastBuffer.Slice(consumed).Length;
        _consumed += _lastBuffer.Length - rest;
        _leftover = rest > 0;
        _leftoverLength = rest;
        _examinedAll = _lastBuffer.Slice(examined).IsEmpty;
        _lastBuffer = default;
        _inner.AdvanceTo(consumed, examined);
    }

    internal void AddWritten(int bytes) => Volatile.Write(ref _written, _written + bytes);

    public override void CancelPendingRead()
    {
        Volatile.Write(ref _kestrelCancelled, 1);
        _inner.CancelPendingRead();
    }

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

    private bool AllSent() => ConnectionPassing.BytesWritten((int)_socket!.Handle) is not { } written || written >= Volatile.Read(ref _written);

    private bool CanMove =>
        !_neverMovable && Volatile.Read(ref _moved) == 0 && !_leftover && Volatile.Read(ref _requestsActive) == 0 && (_cleanBoundary || !_delivered);

    private ReadResult Deliver(ReadResult result)
    {
        if (!_delivered && !result.Buffer.IsEmpty)
        {
            _delivered = true;

            // The first bytes say what the connection speaks. A TLS record (0x16) carries a session that lives in this
            // process; "PRI " opens HTTP/2 with prior knowledge. Neither is ever at an HTTP/1.1 request boundary.
            var first = result.Buffer.FirstSpan;
            if (first[0] == 0x16 || (first[0] == (byte)'P' && (result.Buffer.Length < 4 || IsHttp2Preface(result.Buffer))))
            {
                _neverMovable = true;
            }
        }

        _lastBuffer = result.Buffer;
        return result;
    }

    private static bool IsHttp2Preface(ReadOnlySequence<byte> buffer)
    {
        Span<byte> start = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(start);
        return start.SequenceEqual("PRI "u8);
    }

    /// <summary>
    /// Moves the connection, given the transport's current buffer (null: nothing buffered). False when it did not even
    /// start (the caller goes on as usual); true when the connection is gone from this process, moved or - should the
    /// successor not take it after the socket was detached - closed.
    /// </summary>
    private async ValueTask<bool> MoveAsync(ReadResult? current)
    {
        if (_mover.Successor is not { } successor || _socket is null)
        {
            return false;
        }

        int fd;
        int copy;
        try
        {
            fd = (int)_socket.Handle;

            // Kestrel has answered, but its transport may still be sending the answers: they must reach the socket
            // from here, before the descriptor is detached (the kernel's count of bytes written says when).
            if (!await TransportOutput.WaitUntilSentAsync(AllSent, TimeProvider.System, TransportOutput.YieldFor, ConnectionMover.SettleTimeout).ConfigureAwait(false))
            {
                return false;
            }

            copy = ConnectionPassing.Duplicate(fd);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException)
        {
            _neverMovable = true;
            return false;
        }

        Volatile.Write(ref _moved, 1);
        _mover.Moving();
        string? failure = null;
        long carried = -1;
        try
        {
            // From here nothing in this process reads the connection again: the transport's next read finds the stand-in
            // and its end of file. A read already under way may still bring bytes; the kernel's count of what was read
            // says when all of them are in the buffer.
            ConnectionPassing.DetachConnection(fd);
            var buffer = current?.Buffer ?? ReadOnlySequence<byte>.Empty;
            var holding = current is not null;
            var completed = false;
            using var deadline = new CancellationTokenSource(ConnectionMover.SettleTimeout);
            while (true)
            {
                var read = ConnectionPassing.BytesRead(copy);
                var have = _consumed + buffer.Length;
                if (read == have)
                {
                    break;
                }

                if (read is null || read < have || completed)
                {
                    failure = $"the kernel says {read?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing"} byte(s) were read, this process has {have}";
                    break;
                }

                if (holding)
                {
                    _inner.AdvanceTo(buffer.Start, buffer.End);
                }

                var next = await _inner.ReadAsync(deadline.Token).ConfigureAwait(false);
                holding = true;
                buffer = next.Buffer;
                completed = next.IsCompleted;
            }

            carried = buffer.Length;
            if (failure is null && !successor.MoveConnection(copy, _listener, buffer.IsEmpty ? [] : buffer.ToArray()))
            {
                failure = "the new process could not be told";
                _mover.StopMoving();
            }

            if (holding)
            {
                _inner.AdvanceTo(buffer.End);
            }
        }
        catch (Exception ex)
        {
            failure = ex.Message;
        }
        finally
        {
            Descriptors.Close(copy);
        }

        _mover.Moved(failure is null, _connectionId, failure, $"started with {(current is null ? "nothing" : current.Value.Buffer.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))}, carried {carried}, consumed {_consumed}");
        return true;
    }
}

/// <summary>Counts what Kestrel writes to a movable connection; everything else goes straight through.</summary>
internal sealed class CountingWriter(PipeWriter inner, MovableConnection connection) : PipeWriter
{
    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override void Advance(int bytes)
    {
        connection.AddWritten(bytes);
        inner.Advance(bytes);
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
}

/// <summary>
/// The input of a connection moved in from the predecessor: the bytes it had read and no request used come first, then
/// the transport's. Only while those bytes last is anything copied (to join them with what the transport reads next,
/// when a request was cut between the two); after that Kestrel reads the transport's buffers directly.
/// </summary>
internal sealed class PrefixedReader(byte[] prefix, PipeReader inner) : PipeReader
{
    private byte[]? _prefix = prefix.Length > 0 ? prefix : null;
    private bool _needMore;
    private ReadOnlySequence<byte> _returned;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_prefix is null)
        {
            return await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        }

        var completed = false;
        if (_needMore)
        {
            var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                inner.AdvanceTo(result.Buffer.Start);
                return new ReadResult(Returned(), isCanceled: true, isCompleted: false);
            }

            _prefix = [.. _prefix, .. result.Buffer.ToArray()];
            inner.AdvanceTo(result.Buffer.End);
            completed = result.IsCompleted;
            _needMore = false;
        }

        return new ReadResult(Returned(), isCanceled: false, completed);
    }

    public override bool TryRead(out ReadResult result)
    {
        if (_prefix is null)
        {
            return inner.TryRead(out result);
        }

        if (_needMore)
        {
            result = default;
            return false;
        }

        result = new ReadResult(Returned(), isCanceled: false, isCompleted: false);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_prefix is null)
        {
            inner.AdvanceTo(consumed, examined);
            return;
        }

        var rest = _returned.Slice(consumed);
        _needMore = _returned.Slice(examined).IsEmpty;
        _prefix = rest.IsEmpty ? null : rest.ToArray();
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    private ReadOnlySequence<byte> Returned() => _returned = new ReadOnlySequence<byte>(_prefix!);
}
