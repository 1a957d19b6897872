using Baton.Hosting;
using Xunit;

namespace Baton.Tests;

public sealed class StartupTimelineTests
{
    [Theory]
    [InlineData("123456789", 123456789L)]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("-5", null)]
    [InlineData("12ms", null)]
    public void The_spawn_time_is_taken_when_it_is_a_number_and_ignored_otherwise(string? text, long? expected) =>
        Assert.Equal(expected, StartupTimeline.ParseSpawnedAt(text));

    [Fact]
    public void Each_step_is_measured_from_the_one_before_and_the_whole_from_the_spawn()
    {
        // Real stamps are taken from CLOCK_MONOTONIC as the steps happen; here they are all "now", so every step after
        // UseBaton is close to zero and the whole is the time since the made-up spawn, 20 ms before UseBaton.
        var useBaton = Interop.MonotonicClock.Microseconds();
        var timeline = new StartupTimeline(useBaton - 20_000, useBaton);
        timeline.HostStarting();
        timeline.Listening();
        timeline.PidFileWritten();

        var text = timeline.Describe(Interop.MonotonicClock.Microseconds());

        Assert.StartsWith("spawn to UseBaton 20.0, to host start ", text, StringComparison.Ordinal);
        Assert.Contains(", to Kestrel listening ", text, StringComparison.Ordinal);
        Assert.Contains(", pid file ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("warm-up", text, StringComparison.Ordinal);
        // At least the 20 ms before UseBaton; how much more depends on how busy the machine is.
        var all = System.Text.RegularExpressions.Regex.Match(text, @"; (\d+\.\d) ms in all; GC: \d+ collection\(s\), \d+\.\d ms paused, \d+\.\d MiB allocated$");
        Assert.True(all.Success, text);
        Assert.True(double.Parse(all.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 20.0, text);
    }

    [Fact]
    public void Without_a_spawn_time_the_steps_start_at_UseBaton()
    {
        var timeline = new StartupTimeline(null, Interop.MonotonicClock.Microseconds());
        Assert.StartsWith("start (spawn time unknown) to UseBaton -, to host start -", timeline.Describe(Interop.MonotonicClock.Microseconds()), StringComparison.Ordinal);
    }
}

public sealed class NiceValuesTests
{
    [Fact]
    public void A_process_started_from_a_niced_thread_would_start_with_that_nice_value_and_the_caller_keeps_its_own()
    {
        var mine = Interop.NiceValues.Current();
        var onTheThread = Interop.NiceValues.RunNiced(5, Interop.NiceValues.Current);
        Assert.Equal(Math.Min(19, mine + 5), onTheThread);
        Assert.Equal(mine, Interop.NiceValues.Current());
    }

    [Fact]
    public void With_idle_the_niced_thread_runs_under_SCHED_IDLE_and_the_caller_keeps_its_policy()
    {
        Assert.True(Interop.NiceValues.RunsNormalPolicy());
        var policy = Interop.NiceValues.RunNiced(1, () => PolicyOf(Interop.Libc.GetTid()), idle: true);
        Assert.Equal(Interop.Libc.SCHED_IDLE, policy);
        Assert.Equal(Interop.Libc.SCHED_OTHER, PolicyOf(Interop.Libc.GetTid()));
    }

    [Fact]
    public void Leaving_idle_sets_a_thread_under_SCHED_IDLE_back_to_SCHED_OTHER_with_the_nice_value()
    {
        // Every thread is set to the caller's own nice value: only the one RunNiced made differs, the runner's are left as
        // they are. Taking a nice value back needs a privilege (CAP_SYS_NICE, RLIMIT_NICE): without it, false and nothing
        // changed is the answer to check.
        var mine = Interop.NiceValues.Current();
        var allowed = Interop.NiceValues.CanLowerAgain();
        var (during, restored, after, niceAfter) = Interop.NiceValues.RunNiced(3, () =>
        {
            var tid = Interop.Libc.GetTid();
            var idle = PolicyOf(tid);
            var restored = Interop.NiceValues.TrySetAllThreads(mine, leaveIdle: true);
            return (idle, restored, PolicyOf(tid), Interop.NiceValues.Current());
        }, idle: true);
        Assert.Equal(Interop.Libc.SCHED_IDLE, during);
        Assert.Equal(allowed, restored);
        Assert.Equal(allowed ? mine : Math.Min(19, mine + 3), niceAfter);
        if (allowed)
        {
            Assert.Equal(Interop.Libc.SCHED_OTHER, after);
        }

        Assert.Equal(Interop.Libc.SCHED_OTHER, PolicyOf(Interop.Libc.GetTid()));
    }

    private static int PolicyOf(int tid) => Interop.Libc.SchedGetScheduler(tid);

    [Fact]
    public void A_failure_on_the_niced_thread_reaches_the_caller() =>
        Assert.Throws<InvalidOperationException>(() => Interop.NiceValues.RunNiced<int>(1, () => throw new InvalidOperationException("spawn failed")));
}
