namespace Baton.Interop;

/// <summary>CLOCK_MONOTONIC, the clock the service manager compares a reload's timestamp with.</summary>
internal static unsafe class MonotonicClock
{
    /// <summary>
    /// Microseconds on CLOCK_MONOTONIC, as systemd's MONOTONIC_USEC= wants them. Read here rather than derived from
    /// Stopwatch, whose clock is the runtime's choice, not a promise.
    /// </summary>
    public static long Microseconds()
    {
        Libc.TimeSpec time;
        if (Libc.ClockGetTime(Libc.CLOCK_MONOTONIC, &time) == -1)
        {
            throw PosixException.FromLastError("clock_gettime(CLOCK_MONOTONIC)");
        }

        return ((long)time.Seconds * 1_000_000) + ((long)time.Nanoseconds / 1_000);
    }
}
