using System.Diagnostics.Metrics;
using Baton.Draining;
using Baton.Handover;

namespace Baton.Metrics;

/// <summary>
/// The "Baton" meter, fed by the coordinator's transitions. Created through the app's <see cref="IMeterFactory"/> (as
/// ASP.NET Core's own meters are), so OpenTelemetry's <c>AddMeter("Baton")</c>, <c>dotnet-counters</c> and tests that
/// listen to one service provider all see it. Names, units and tags follow OpenTelemetry's semantic conventions; the
/// README lists each instrument.
/// </summary>
internal sealed class BatonMetrics : IBatonObserver
{
    public const string MeterName = "Baton";

    public const string HandoverResultTag = "baton.handover.result";
    public const string DrainReasonTag = "baton.drain.reason";
    public const string DrainResultTag = "baton.drain.result";

    // A handover is a process start: tens of milliseconds (NativeAOT) to seconds (JIT, migrations), bounded by
    // ReadyTimeout (30 s by default). A drain is bounded by HammerTime (60 s by default) and can be set longer.
    private static readonly double[] HandoverBuckets = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private static readonly double[] DrainBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private readonly Counter<long> _handovers;
    private readonly Histogram<double> _handoverDuration;
    private readonly Histogram<double> _drainDuration;
    private volatile string? _drainReason;

    /// <param name="meterFactory">The app's meter factory: it owns (and disposes) the meter.</param>
    /// <param name="generation">This process's generation.</param>
    /// <param name="openConnections">The connections open in this process now.</param>
    public BatonMetrics(IMeterFactory meterFactory, int generation, Func<int> openConnections)
    {
        var meter = meterFactory.Create(new MeterOptions(MeterName));
        _handovers = meter.CreateCounter<long>(
            "baton.handovers",
            "{handover}",
            "Handovers this process started (SIGHUP), counted when they end: ok when the new process took over, failed when it did not.");
        _handoverDuration = meter.CreateHistogram(
            "baton.handover.duration",
            "s",
            "Time from starting the new process to telling it to go on (ok), or to giving up on it (failed).",
            tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = HandoverBuckets });
        meter.CreateObservableGauge(
            "baton.generation",
            () => generation,
            "{generation}",
            "This process's generation: 1 for a process started cold, n + 1 for one started by a handover from generation n.");
        meter.CreateObservableUpDownCounter(
            "baton.drain.connections",
            () => _drainReason is null ? 0 : openConnections(),
            "{connection}",
            "Connections still open in this process since it stopped accepting (0 while it accepts).");
        _drainDuration = meter.CreateHistogram(
            "baton.drain.duration",
            "s",
            "Time from stopping accepting to the end of the drain: every connection closed, only idle ones left, or cut short.",
            tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = DrainBuckets });
    }

    public void HandoverSucceeded(int successorPid, int generation, TimeSpan elapsed) => RecordHandover("ok", elapsed);

    public void HandoverFailed(string reason, TimeSpan elapsed) => RecordHandover("failed", elapsed);

    public void Draining(bool handedOver) => _drainReason = handedOver ? "handover" : "stop";

    public void Drained(DrainResult result, TimeSpan elapsed) =>
        _drainDuration.Record(
            elapsed.TotalSeconds,
            new KeyValuePair<string, object?>(DrainReasonTag, _drainReason ?? "stop"),
            new KeyValuePair<string, object?>(DrainResultTag, ResultName(result)));

    private void RecordHandover(string result, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>(HandoverResultTag, result);
        _handovers.Add(1, tag);
        _handoverDuration.Record(elapsed.TotalSeconds, tag);
    }

    private static string ResultName(DrainResult result) => result switch
    {
        DrainResult.Drained => "drained",
        DrainResult.OnlyIdleLeft => "only_idle_left",
        DrainResult.HammerTimeElapsed => "hammer_time_elapsed",
        DrainResult.Hammered => "hammered",
        _ => "unknown",
    };
}
