using Baton.Kestrel;
using Xunit;

namespace Baton.Tests;

public sealed class TransportOutputTests
{
    [Fact]
    public async Task A_move_sees_the_transports_send_without_waiting_for_a_timer()
    {
        // The transport sends a moment after Kestrel reads for the next request. Timers tick with the kernel's coarse
        // clock (4 ms at 250 Hz): a move that waited on one held its connection, and the client's next request, 1-8 ms.
        var time = new FrozenTime();
        var checks = 0;
        var waiting = TransportOutput.WaitUntilSentAsync(() => ++checks > 3, time, TimeSpan.FromMilliseconds(3), TimeSpan.FromSeconds(2)).AsTask();

        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(4, checks);
        Assert.Equal(0, time.TimersCreated);
    }

    [Fact]
    public async Task A_send_that_takes_longer_is_waited_for_with_a_timer_and_given_up_at_the_limit()
    {
        var time = new FrozenTime();
        var checks = 0;
        var waiting = TransportOutput.WaitUntilSentAsync(() => { time.Advance(TimeSpan.FromMilliseconds(1)); checks++; return false; }, time, TimeSpan.FromMilliseconds(3), TimeSpan.FromMilliseconds(10)).AsTask();

        time.FireTimers();
        while (!waiting.IsCompleted)
        {
            time.FireTimers();
            await Task.Delay(1);
        }

        Assert.False(await waiting);
        Assert.InRange(checks, 10, 12);
        Assert.InRange(time.TimersCreated, 7, 9);
    }

    /// <summary>A clock that moves only when told, and timers that fire only when told.</summary>
    private sealed class FrozenTime : TimeProvider
    {
        private readonly Lock _gate = new();
        private readonly List<ManualTimer> _timers = [];
        private long _ticks;
        private int _created;

        public int TimersCreated => Volatile.Read(ref _created);

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _created);
            var timer = new ManualTimer(callback, state);
            lock (_gate)
            {
                _timers.Add(timer);
            }

            return timer;
        }

        public void FireTimers()
        {
            ManualTimer[] due;
            lock (_gate)
            {
                due = [.. _timers];
                _timers.Clear();
            }

            foreach (var timer in due)
            {
                timer.Fire();
            }
        }

        private sealed class ManualTimer(TimerCallback callback, object? state) : ITimer
        {
            private int _done;

            public void Fire()
            {
                if (Interlocked.Exchange(ref _done, 1) == 0)
                {
                    callback(state);
                }
            }

            public bool Change(TimeSpan dueTime, TimeSpan period) => false;

            public void Dispose() => Volatile.Write(ref _done, 1);

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
