using Baton.Kestrel;

namespace Baton.Draining;

/// <summary>How a drain ended.</summary>
internal enum DrainResult
{
    /// <summary>Every connection closed by itself.</summary>
    Drained,

    /// <summary>The connections left had been idle for the idle timeout; they are closed cleanly at stop.</summary>
    OnlyIdleLeft,

    /// <summary>HammerTime passed; what was left was aborted.</summary>
    HammerTimeElapsed,

    /// <summary>SIGUSR2; what was left was aborted.</summary>
    Hammered,
}

/// <summary>
/// Lets a process that no longer accepts finish what it has: every response from now on carries
/// <c>Connection: close</c>, so each keep-alive client is told, on an answer it already gets, to go elsewhere;
/// connections that stay idle are closed only after <see cref="BatonOptions.DrainIdleTimeout"/> of quiet, so
/// the server never closes a connection under a client that is sending on it.
/// </summary>
internal sealed class DrainController(ConnectionTracker connections, TimeProvider time)
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(20);

    private volatile bool _draining;
    private int _inFlight;
    private long _lastActivity;

    public bool IsDraining => _draining;

    public int InFlight => Volatile.Read(ref _inFlight);

    public int OpenConnections => connections.Count;

    public void RequestStarted()
    {
        Interlocked.Increment(ref _inFlight);
        if (_draining)
        {
            Volatile.Write(ref _lastActivity, time.GetTimestamp());
        }
    }

    public void RequestEnded()
    {
        Interlocked.Decrement(ref _inFlight);
        if (_draining)
        {
            Volatile.Write(ref _lastActivity, time.GetTimestamp());
        }
    }

    public async Task<DrainResult> DrainAsync(TimeSpan hammerTime, TimeSpan idleTimeout, CancellationToken hammer)
    {
        Volatile.Write(ref _lastActivity, time.GetTimestamp());
        _draining = true;

        // HTTP/2 clients, busy or idle, are told now (GOAWAY, PING, then Kestrel's final GOAWAY) and move to the
        // successor; HTTP/1.x clients learn it from their next response.
        connections.SendAwayHttp2();
        var start = time.GetTimestamp();
        while (true)
        {
            if (connections.Count == 0)
            {
                return DrainResult.Drained;
            }

            if (hammer.IsCancellationRequested)
            {
                connections.AbortAll("Baton: hammer (SIGUSR2) while draining.");
                return DrainResult.Hammered;
            }

            if (time.GetElapsedTime(start) >= hammerTime)
            {
                connections.AbortAll("Baton: HammerTime elapsed while draining.");
                return DrainResult.HammerTimeElapsed;
            }

            if (InFlight == 0 && time.GetElapsedTime(Volatile.Read(ref _lastActivity)) >= idleTimeout)
            {
                return DrainResult.OnlyIdleLeft;
            }

            try
            {
                await Task.Delay(CheckInterval, time, hammer).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Hammer: handled at the top of the loop.
            }
        }
    }
}
