using System.Diagnostics.Metrics;
using Baton.Handover;
using Baton.Interop;
using Baton.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Baton.Tests;

/// <summary>The "Baton" meter as a MeterListener sees it, fed by the coordinator's transitions.</summary>
public sealed class MetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ManualClock _clock = new();

    private IMeterFactory MeterFactory => _services.GetRequiredService<IMeterFactory>();

    public void Dispose() => _services.Dispose();

    [Fact]
    public void The_Baton_meter_comes_from_the_apps_meter_factory_with_exactly_the_documented_instruments()
    {
        using var recorder = new MetricsRecorder(MeterFactory);
        _ = new BatonMetrics(MeterFactory, 1, () => 0);

        // The README's table: name, unit, kind. A change here is a change for every dashboard.
        Assert.Equal(
            [
                "baton.drain.connections {connection} ObservableUpDownCounter`1",
                "baton.drain.duration s Histogram`1",
                "baton.generation {generation} ObservableGauge`1",
                "baton.handover.duration s Histogram`1",
                "baton.handovers {handover} Counter`1",
            ],
            recorder.Instruments.Select(i => $"{i.Name} {i.Unit} {i.GetType().Name}").Order());
        Assert.All(recorder.Instruments, i => Assert.Equal(("Baton", (object)MeterFactory), (i.Meter.Name, i.Meter.Scope!)));
        Assert.All(recorder.Instruments, i => Assert.False(string.IsNullOrWhiteSpace(i.Description)));
    }

    [Fact]
    public async Task A_handover_counts_ok_with_its_duration_then_the_drain_shows_open_connections_and_its_duration()
    {
        using var recorder = new MetricsRecorder(MeterFactory);
        var server = new FakeServer();
        var child = new FakeSuccessor(500);
        var coordinator = Create(server, new FakeLauncher().Then(child));
        Assert.Equal(["baton.drain.connections 0", "baton.generation 1"], recorder.Observe());

        var result = coordinator.RequestRestart();
        child.Say("ready 500 2");
        var succeeded = Assert.IsType<RestartSucceeded>(await result.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(["baton.handovers 1 baton.handover.result=ok", $"baton.handover.duration {succeeded.Elapsed.TotalSeconds} baton.handover.result=ok"], recorder.Measurements);

        await WaitForAsync(() => server.Calls.Contains("drain"));
        Assert.Equal(["baton.drain.connections 3", "baton.generation 1"], recorder.Observe());
        _clock.Advance(TimeSpan.FromMilliseconds(1500));
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("baton.drain.duration 1.5 baton.drain.reason=handover baton.drain.result=drained", recorder.Measurements[^1]);
        Assert.Equal(3, recorder.Measurements.Count);
    }

    [Fact]
    public async Task A_failed_handover_counts_failed_with_its_duration_and_no_drain()
    {
        using var recorder = new MetricsRecorder(MeterFactory);
        var child = new FakeSuccessor(501);
        var coordinator = Create(new FakeServer(), new FakeLauncher().Then(child));

        var result = coordinator.RequestRestart();
        child.Die(new ChildExit(3, null));
        var failed = Assert.IsType<RestartFailed>(await result.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(["baton.handovers 1 baton.handover.result=failed", $"baton.handover.duration {failed.Elapsed.TotalSeconds} baton.handover.result=failed"], recorder.Measurements);
        Assert.Equal(["baton.drain.connections 0", "baton.generation 1"], recorder.Observe());
    }

    [Fact]
    public async Task A_stop_in_a_successor_records_its_generation_and_a_hammered_drain_with_reason_stop()
    {
        using var recorder = new MetricsRecorder(MeterFactory);
        var server = new FakeServer();
        var coordinator = Create(server, new FakeLauncher(), generation: 3);

        coordinator.Stop("SIGTERM");
        Assert.Equal(["baton.drain.connections 3", "baton.generation 3"], recorder.Observe());
        _clock.Advance(TimeSpan.FromSeconds(4));
        coordinator.Hammer();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(["baton.drain.duration 4 baton.drain.reason=stop baton.drain.result=hammered"], recorder.Measurements);
    }

    private HandoverCoordinator Create(FakeServer server, FakeLauncher launcher, int generation = 1)
    {
        var metrics = new BatonMetrics(MeterFactory, generation, () => server.OpenConnections);
        var coordinator = new HandoverCoordinator(
            server, new SuccessorLauncher(launcher, TimeProvider.System), _clock, NullLogger.Instance, TimeSpan.FromSeconds(5),
            generation, predecessor: null, new BatonObservers([metrics]));
        coordinator.OnServing();
        coordinator.NotifyServing();
        return coordinator;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (!condition())
        {
            await Task.Delay(10, deadline.Token);
        }
    }

    /// <summary>A clock that moves only when told (the coordinator measures drains with it).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}

/// <summary>
/// Listens to the "Baton" meter of one meter factory only (tests run in parallel, each with its own factory), and
/// formats each measurement as "name value tag=value ...".
/// </summary>
internal sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<Instrument> _instruments = [];
    private readonly List<string> _measurements = [];
    private List<string>? _observed;

    public MetricsRecorder(IMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == BatonMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                lock (_instruments)
                {
                    _instruments.Add(instrument);
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.SetMeasurementEventCallback<int>(OnMeasurement);
        _listener.SetMeasurementEventCallback<double>(OnMeasurement);
        _listener.Start();
    }

    public IReadOnlyList<Instrument> Instruments
    {
        get
        {
            lock (_instruments)
            {
                return [.. _instruments];
            }
        }
    }

    /// <summary>Counter and histogram measurements, in order.</summary>
    public IReadOnlyList<string> Measurements
    {
        get
        {
            lock (_measurements)
            {
                return [.. _measurements];
            }
        }
    }

    /// <summary>The observable instruments' values now, sorted.</summary>
    public IReadOnlyList<string> Observe()
    {
        lock (_measurements)
        {
            _observed = [];
            _listener.RecordObservableInstruments();
            var observed = _observed.Order().ToList();
            _observed = null;
            return observed;
        }
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        var line = string.Join(' ', [$"{instrument.Name} {value}", .. tags.ToArray().Select(t => $"{t.Key}={t.Value}")]);
        lock (_measurements)
        {
            (instrument.IsObservable ? _observed : _measurements)?.Add(line);
        }
    }
}
