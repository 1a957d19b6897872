namespace Baton.Kestrel;

/// <summary>Waits for a connection's transport to hand the kernel what Kestrel wrote, before the connection moves.</summary>
internal static class TransportOutput
{
    /// <summary>How long a move checks again at once (yielding its thread in between) before it falls back to a timer.</summary>
    public static readonly TimeSpan YieldFor = TimeSpan.FromMilliseconds(3);

    /// <summary>
    /// Completes with true once <paramref name="sent"/> says so, false when <paramref name="giveUpAfter"/> passed first.
    /// </summary>
    /// <remarks>
    /// Kestrel reads for the next request as soon as it has handed its answer to the transport, which sends it a moment
    /// later on another thread - so a connection that moves almost always waits here. A timer is far too coarse for
    /// that moment: .NET's timers count time with the kernel's coarse clock, which ticks every 4 ms where the kernel
    /// runs at 250 Hz, so the <c>Task.Delay(1)</c> that waited here held each connection 1-8 ms - and its client's next
    /// request, which arrived meanwhile, with it. Yielding lets the transport's send run on the pool and looks again
    /// right after; only a send that takes longer than <see cref="YieldFor"/> falls back to the timer.
    /// </remarks>
    public static async ValueTask<bool> WaitUntilSentAsync(Func<bool> sent, TimeProvider time, TimeSpan yieldFor, TimeSpan giveUpAfter)
    {
        var start = time.GetTimestamp();
        while (!sent())
        {
            var waited = time.GetElapsedTime(start);
            if (waited > giveUpAfter)
            {
                return false;
            }

            if (waited < yieldFor)
            {
                await Task.Yield();
            }
            else
            {
                await Task.Delay(TimeSpan.FromMilliseconds(1), time).ConfigureAwait(false);
            }
        }

        return true;
    }
}
