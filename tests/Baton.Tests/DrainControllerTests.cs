using Baton.Draining;
using Baton.Kestrel;
using Microsoft.AspNetCore.Connections;
using Xunit;

namespace Baton.Tests;

public sealed class DrainControllerTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static (FakeConnection Connection, CancellationTokenSource Closed) Connect(ConnectionTracker tracker)
    {
        var closed = new CancellationTokenSource();
        var connection = new FakeConnection { ConnectionClosed = closed.Token };
        tracker.Track(connection);
        return (connection, closed);
    }

    [Fact]
    public async Task The_drain_ends_when_the_last_connection_closes()
    {
        var tracker = new ConnectionTracker();
        var drain = new DrainController(tracker, TimeProvider.System);
        var (_, closed) = Connect(tracker);
        drain.RequestStarted();

        var draining = drain.DrainAsync(Long, Long, CancellationToken.None);
        Assert.True(drain.IsDraining);
        Assert.False(draining.IsCompleted);
        drain.RequestEnded();
        await closed.CancelAsync();

        Assert.Equal(DrainResult.Drained, await draining.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, tracker.Count);
    }

    [Fact]
    public async Task Connections_left_idle_end_the_drain_after_the_idle_timeout_without_being_aborted()
    {
        var tracker = new ConnectionTracker();
        var drain = new DrainController(tracker, TimeProvider.System);
        var (connection, _) = Connect(tracker);

        var result = await drain.DrainAsync(Long, TimeSpan.FromMilliseconds(50), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(DrainResult.OnlyIdleLeft, result);
        Assert.False(connection.Aborted);
        Assert.Equal(1, tracker.Count);
    }

    [Fact]
    public async Task A_request_in_flight_holds_the_drain_until_hammer_time_then_it_is_aborted()
    {
        var tracker = new ConnectionTracker();
        var drain = new DrainController(tracker, TimeProvider.System);
        var (connection, _) = Connect(tracker);
        drain.RequestStarted();

        var result = await drain.DrainAsync(TimeSpan.FromMilliseconds(100), TimeSpan.Zero, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.Equal(DrainResult.HammerTimeElapsed, result);
        Assert.True(connection.Aborted);
    }

    [Fact]
    public async Task Hammer_aborts_what_is_left_at_once()
    {
        var tracker = new ConnectionTracker();
        var drain = new DrainController(tracker, TimeProvider.System);
        var (connection, _) = Connect(tracker);
        drain.RequestStarted();
        using var hammer = new CancellationTokenSource();

        var draining = drain.DrainAsync(Long, Long, hammer.Token);
        await hammer.CancelAsync();

        Assert.Equal(DrainResult.Hammered, await draining.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(connection.Aborted);
    }

    private sealed class FakeConnection : ConnectionContext
    {
        public bool Aborted { get; private set; }

        public override string ConnectionId { get; set; } = Guid.NewGuid().ToString();

        public override Microsoft.AspNetCore.Http.Features.IFeatureCollection Features { get; } = new Microsoft.AspNetCore.Http.Features.FeatureCollection();

        public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

        public override System.IO.Pipelines.IDuplexPipe Transport { get; set; } = null!;

        public override void Abort(ConnectionAbortedException abortReason) => Aborted = true;
    }
}
