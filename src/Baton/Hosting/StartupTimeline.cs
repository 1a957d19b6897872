using System.Globalization;
using Baton.Interop;

namespace Baton.Hosting;

/// <summary>
/// Where a successor's start-up goes, on CLOCK_MONOTONIC (one clock for every process on the machine): from the
/// parent's spawn (passed in <see cref="Handover.HandoverVariables.SpawnedAt"/>) through UseBaton, the host's start,
/// Kestrel listening, the warm-up and the pid file, to "ready", and the garbage collections the start-up took (a
/// collection while the host is built stops every thread of a process that is not serving yet). Logged once, at
/// ready: the figures a faster handover is worked from.
/// </summary>
internal sealed class StartupTimeline
{
    private readonly long? _spawned;
    private readonly long _useBaton;
    private long _hostStarting;
    private long _listening;
    private long _warmedUp;
    private long _pidFile;

    public StartupTimeline(long? spawnedAtMicroseconds, long useBatonAtMicroseconds)
    {
        _spawned = spawnedAtMicroseconds;
        _useBaton = useBatonAtMicroseconds;
    }

    /// <summary>The value of <see cref="Handover.HandoverVariables.SpawnedAt"/>: microseconds, or null when unset or not a number.</summary>
    public static long? ParseSpawnedAt(string? text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : null;

    public void HostStarting() => _hostStarting = MonotonicClock.Microseconds();

    public void Listening() => _listening = MonotonicClock.Microseconds();

    public void WarmedUp() => _warmedUp = MonotonicClock.Microseconds();

    public void PidFileWritten() => _pidFile = MonotonicClock.Microseconds();

    /// <summary>
    /// "spawn to UseBaton 18.2, to host start 9.1, to Kestrel listening 6.0, warm-up 41.0, pid file 0.3, to ready 0.2;
    /// 74.8 ms in all; GC: 1 collection(s), 2.9 ms paused, 9.6 MiB allocated" (no warm-up step without one).
    /// </summary>
    public string Describe(long readyAtMicroseconds)
    {
        var start = _spawned ?? _useBaton;
        var parts = new List<string>();
        var previous = start;
        void Step(string name, long at)
        {
            if (at <= 0)
            {
                parts.Add($"{name} -");
                return;
            }

            parts.Add($"{name} {Milliseconds(at - previous)}");
            previous = at;
        }

        Step(_spawned is null ? "start (spawn time unknown) to UseBaton" : "spawn to UseBaton", _spawned is null ? 0 : _useBaton);
        Step("to host start", _hostStarting);
        Step("to Kestrel listening", _listening);
        if (_warmedUp > 0)
        {
            Step("warm-up", _warmedUp);
        }

        Step("pid file", _pidFile > 0 ? _pidFile : previous);
        Step("to ready", readyAtMicroseconds);
        var paused = GC.GetTotalPauseDuration().TotalMilliseconds.ToString("0.0", CultureInfo.InvariantCulture);
        var allocated = (GC.GetTotalAllocatedBytes() / 1_048_576.0).ToString("0.0", CultureInfo.InvariantCulture);
        return $"{string.Join(", ", parts)}; {Milliseconds(readyAtMicroseconds - start)} ms in all; GC: {GC.CollectionCount(0)} collection(s), {paused} ms paused, {allocated} MiB allocated";
    }

    private static string Milliseconds(long microseconds) =>
        (microseconds / 1000.0).ToString("0.0", CultureInfo.InvariantCulture);
}
