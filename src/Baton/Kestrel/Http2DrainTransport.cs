using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;

namespace Baton.Kestrel;

/// <summary>
/// A connection's byte stream as Kestrel's HTTP layer sees it (after TLS), passed through untouched, plus the one thing
/// Kestrel's graceful close of an HTTP/2 connection lacks: RFC 9113 section 6.8's round trip before the final GOAWAY.
/// </summary>
/// <remarks>
/// <para>
/// Kestrel's <c>RequestClose</c> sends GOAWAY(2^31-1) only while streams are active, and the final GOAWAY(last stream
/// id) as soon as none is, then closes. It never waits for the client: a request the client sent before it read the
/// first GOAWAY and that arrives after the final one is dropped (the client sees it refused). So a drain first sends,
/// at a frame boundary of Kestrel's output, GOAWAY(2^31-1) and a PING with 8 random octets. The client stops opening
/// streams when it reads the GOAWAY and answers the PING after it; once Kestrel has consumed the input up to that
/// PING ACK, every stream the client opened has reached Kestrel, and only then is Kestrel asked to close (its final
/// GOAWAY names them all). Kestrel ignores PING ACKs, so the input is never changed. No ACK within the timeout: close
/// anyway.
/// </para>
/// <para>
/// Cost: nothing is copied. The first read is checked for the HTTP/2 client preface; any other connection (HTTP/1.1,
/// or the encrypted side of TLS) is passed through from then on. On HTTP/2 the output takes an uncontended lock per
/// write and flush until the GOAWAY is out (the drain thread must never write inside one of Kestrel's frames); the
/// input is searched only between our PING and its ACK.
/// </para>
/// </remarks>
internal sealed class Http2DrainTransport : IDuplexPipe
{
    private const int Undecided = 0;
    private const int NotHttp2 = 1;
    private const int Serving = 2;
    private const int GoAwayQueued = 3;
    private const int PingSent = 4;
    private const int Closing = 5;

    private readonly IDuplexPipe _inner;
    private readonly DrainReader _reader;
    private readonly DrainWriter _writer;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pingTimeout;
    private readonly Action<Http2DrainTransport> _isHttp2;
    private readonly Action<bool> _requestClose;
    private readonly Lock _gate = new();
    private readonly byte[] _ack = new byte[Http2Frames.PingLength];
    private int _phase;

    // Under _gate: Kestrel has written since its last flush (we may be inside a frame), Kestrel's flush that has not
    // completed yet, ours, and whether Kestrel has flushed at all (its SETTINGS must be the first frame).
    private bool _batchOpen;
    private Task<FlushResult>? _kestrelFlush;
    private Task? _ownFlush;
    private bool _kestrelFlushed;
    private bool _goAwayWanted;
    private ITimer? _timer;
    private int _closeRequested;

    public Http2DrainTransport(IDuplexPipe inner, TimeProvider time, TimeSpan pingTimeout, Action<Http2DrainTransport> isHttp2, Action<bool> requestClose)
    {
        _inner = inner;
        _time = time;
        _pingTimeout = pingTimeout;
        _isHttp2 = isHttp2;
        _requestClose = requestClose;
        _reader = new DrainReader(this);
        _writer = new DrainWriter(this);
    }

    public PipeReader Input => _reader;

    public PipeWriter Output => _writer;

    /// <summary>The pipe this one wraps.</summary>
    public IDuplexPipe Inner => _inner;

    public bool IsHttp2 => Volatile.Read(ref _phase) >= Serving;

    /// <summary>The PING ACK has been read (or timed out) and Kestrel asked to close.</summary>
    public bool CloseRequested => Volatile.Read(ref _closeRequested) != 0;

    /// <summary>
    /// Sends GOAWAY(2^31-1) and PING now if Kestrel is between flushes, else with Kestrel's next flush. Idempotent; on a
    /// connection not yet known to be HTTP/2 it waits for the preface, on any other connection it does nothing.
    /// </summary>
    public void SendAway()
    {
        lock (_gate)
        {
            switch (_phase)
            {
                case Undecided:
                    _goAwayWanted = true;
                    return;
                case Serving:
                    if (_batchOpen || _kestrelFlush is not null || !_kestrelFlushed)
                    {
                        _phase = GoAwayQueued;
                        return;
                    }

                    WriteGoAwayLocked();
                    var flush = _inner.Output.FlushAsync();
                    if (!flush.IsCompleted)
                    {
                        _ownFlush = AwaitOwnFlushAsync(flush);
                    }

                    return;
                default:
                    return;
            }
        }
    }

    private void WriteGoAwayLocked()
    {
        var opaque = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        Http2Frames.WritePing(_ack, opaque, ack: true);
        var span = _inner.Output.GetSpan(Http2Frames.GoAwayAndPingLength);
        Http2Frames.WriteGoAwayAndPing(span, opaque);
        _inner.Output.Advance(Http2Frames.GoAwayAndPingLength);
        Volatile.Write(ref _phase, PingSent);
        _timer = _time.CreateTimer(static state => ((Http2DrainTransport)state!).RequestCloseOnce(acked: false), this, _pingTimeout, Timeout.InfiniteTimeSpan);
    }

    private async Task AwaitOwnFlushAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The connection is failing; Kestrel learns it from its own next write.
        }
        finally
        {
            lock (_gate)
            {
                _ownFlush = null;
            }
        }
    }

    private async Task<FlushResult> AwaitKestrelFlushAsync(Task<FlushResult> flush)
    {
        try
        {
            return await flush.ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _kestrelFlush = null;
                if (_phase == GoAwayQueued && !_batchOpen)
                {
                    WriteGoAwayLocked();
                    var own = _inner.Output.FlushAsync();
                    if (!own.IsCompleted)
                    {
                        _ownFlush = AwaitOwnFlushAsync(own);
                    }
                }
            }
        }
    }

    private void RequestCloseOnce(bool acked)
    {
        if (Interlocked.Exchange(ref _closeRequested, 1) == 0)
        {
            Volatile.Write(ref _phase, Closing);
            _timer?.Dispose();
            _requestClose(acked);
        }
    }

    private void Decide(bool http2)
    {
        bool wanted;
        lock (_gate)
        {
            _phase = http2 ? Serving : NotHttp2;
            wanted = _goAwayWanted;
        }

        if (http2)
        {
            _isHttp2(this);
            if (wanted)
            {
                SendAway();
            }
        }
    }

    private sealed class DrainReader(Http2DrainTransport owner) : PipeReader
    {
        private readonly PipeReader _inner = owner._inner.Input;
        private readonly byte[] _carried = new byte[Http2Frames.PingLength - 1];
        private int _carriedLength;
        private ReadOnlySequence<byte> _inspected;
        private bool _hasInspected;
        private long _ackEnd = -1;

        // A read that was pending when the PING went out may bring its ACK: every read of an HTTP/2 connection is
        // looked at until the ACK is found (a phase check when there is no PING, the search only after it).
        private bool MustInspect => Volatile.Read(ref owner._phase) is not (NotHttp2 or Closing);

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            if (!MustInspect)
            {
                return _inner.ReadAsync(cancellationToken);
            }

            var read = _inner.ReadAsync(cancellationToken);
            if (read.IsCompletedSuccessfully)
            {
                var result = read.Result;
                Inspect(result);
                return new ValueTask<ReadResult>(result);
            }

            return InspectAsync(read);
        }

        [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<ReadResult> InspectAsync(ValueTask<ReadResult> read)
        {
            var result = await read.ConfigureAwait(false);
            Inspect(result);
            return result;
        }

        public override bool TryRead(out ReadResult result)
        {
            if (!_inner.TryRead(out result))
            {
                return false;
            }

            if (MustInspect)
            {
                Inspect(result);
            }

            return true;
        }

        private void Inspect(in ReadResult result)
        {
            var buffer = result.Buffer;
            if (Volatile.Read(ref owner._phase) == Undecided)
            {
                var preface = Http2Frames.StartsWithPreface(buffer);
                if (preface is not null || result.IsCompleted || result.IsCanceled)
                {
                    owner.Decide(preface == true);
                }

                return;
            }

            if (Volatile.Read(ref owner._phase) != PingSent)
            {
                return;
            }

            _inspected = buffer;
            _hasInspected = true;
            _ackEnd = Http2Frames.IndexAfterPingAck(buffer, _carried.AsSpan(0, _carriedLength), owner._ack);
        }

        public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
        {
            if (_hasInspected)
            {
                // Before the buffer is handed back: it is only valid until then.
                OnConsumed(consumed);
            }

            _inner.AdvanceTo(consumed, examined);
        }

        private void OnConsumed(SequencePosition consumed)
        {
            _hasInspected = false;
            var done = _inspected.Slice(_inspected.Start, consumed);
            _inspected = default;
            if (_ackEnd >= 0 && done.Length >= _ackEnd)
            {
                // Kestrel has taken every frame up to our PING's ACK: each stream the client opened before it read
                // the GOAWAY is Kestrel's now, and its final GOAWAY will name them.
                owner.RequestCloseOnce(acked: true);
                return;
            }

            // Keep the last octets consumed, so an ACK cut by this boundary is still found in the next read.
            Span<byte> joined = stackalloc byte[2 * Http2Frames.PingLength];
            _carried.AsSpan(0, _carriedLength).CopyTo(joined);
            var tail = (int)Math.Min(done.Length, Http2Frames.PingLength - 1);
            done.Slice(done.Length - tail).CopyTo(joined[_carriedLength..]);
            var total = _carriedLength + tail;
            _carriedLength = Math.Min(total, _carried.Length);
            joined[(total - _carriedLength)..total].CopyTo(_carried);
        }

        public override void CancelPendingRead() => _inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => _inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);
    }

    private sealed class DrainWriter(Http2DrainTransport owner) : PipeWriter
    {
        private readonly PipeWriter _inner = owner._inner.Output;

        // Until the GOAWAY is out, the drain thread may want to write: Kestrel's writes are marked under the lock so
        // that never happens inside one of its frames.
        private bool Guarded => Volatile.Read(ref owner._phase) is Serving or GoAwayQueued;

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            if (Guarded)
            {
                OpenBatch();
            }

            return _inner.GetMemory(sizeHint);
        }

        public override Span<byte> GetSpan(int sizeHint = 0)
        {
            if (Guarded)
            {
                OpenBatch();
            }

            return _inner.GetSpan(sizeHint);
        }

        private void OpenBatch()
        {
            lock (owner._gate)
            {
                owner._batchOpen = true;
            }
        }

        public override void Advance(int bytes) => _inner.Advance(bytes);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Task? own;
            if (Guarded)
            {
                lock (owner._gate)
                {
                    owner._batchOpen = false;
                    owner._kestrelFlushed = true;
                    own = owner._ownFlush;
                    if (own is null)
                    {
                        if (owner._phase == GoAwayQueued)
                        {
                            // Kestrel flushes whole frames: right behind them is a frame boundary.
                            owner.WriteGoAwayLocked();
                        }

                        var flush = _inner.FlushAsync(cancellationToken);
                        if (flush.IsCompleted)
                        {
                            return flush;
                        }

                        var pending = flush.AsTask();
                        owner._kestrelFlush = pending;
                        return new ValueTask<FlushResult>(owner.AwaitKestrelFlushAsync(pending));
                    }
                }
            }
            else
            {
                own = Volatile.Read(ref owner._ownFlush);
            }

            // Our GOAWAY's flush is still under way: one flush at a time on the pipe below.
            return own is null || own.IsCompleted ? _inner.FlushAsync(cancellationToken) : FlushAfterAsync(own, cancellationToken);
        }

        private async ValueTask<FlushResult> FlushAfterAsync(Task own, CancellationToken cancellationToken)
        {
            await own.ConfigureAwait(false);
            return await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public override void CancelPendingFlush() => _inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => _inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

        public override bool CanGetUnflushedBytes => _inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => _inner.UnflushedBytes;
    }
}
