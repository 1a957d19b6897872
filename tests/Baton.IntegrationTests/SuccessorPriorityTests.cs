using System.Globalization;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>Baton:SuccessorNice: a new process starts at a lower CPU priority and takes its parent's back at "go".</summary>
public sealed class SuccessorPriorityTests
{
    [Fact]
    public async Task A_successor_starts_ten_nice_values_down_and_serves_at_its_parents_priority()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Baton:SuccessorNice=10"]);
        var parentNice = NiceValues(server.RootPid).Distinct().Single();

        // A successor that takes 1.5 s to start: long enough to look at it while it starts.
        await server.DelayNextStartAsync(1500);
        server.Signal(server.RootPid, Posix.SIGHUP);
        var next = await server.WaitForSuccessorStartedAsync();

        if (server.Log.Contains("Baton:SuccessorNice=10 is left out", StringComparison.Ordinal))
        {
            // Not root, no CAP_SYS_NICE: nothing is lowered that could not be given back.
            Assert.All(NiceValues(next), n => Assert.Equal(parentNice, n));
            return;
        }

        var starting = NiceValues(next);
        Assert.All(starting, n => Assert.Equal(Math.Min(19, parentNice + 10), n));

        await server.WaitForLineAsync(l => l.Contains($"Process {next} serves at its parent's priority again (nice {parentNice})", StringComparison.Ordinal));
        Assert.All(NiceValues(next), n => Assert.Equal(parentNice, n));
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(30));

        // And the next one too: a process that started lowered hands on the value it took back, not the lowered one
        // (once, generation 3 served at nice 10 for good, and generation 4 was not lowered at all).
        var third = await server.RestartAsync(next);
        await server.WaitForLineAsync(l => l.Contains($"Process {third} serves at its parent's priority again (nice {parentNice})", StringComparison.Ordinal));
        Assert.All(NiceValues(third), n => Assert.Equal(parentNice, n));
        Assert.DoesNotContain("is left out", server.Log, StringComparison.Ordinal);
        await server.WaitForExitAsync(next, TimeSpan.FromSeconds(30));
        await server.AssertOnlyServerAsync(third);
    }

    /// <summary>The nice value of each thread of <paramref name="pid"/> (field 19 of /proc/PID/task/TID/stat).</summary>
    /// <remarks>A thread that ends between the listing and the read is left out.</remarks>
    internal static List<int> NiceValues(int pid) => ThreadStatField(pid, 16);

    /// <summary>The scheduling policy of each thread of <paramref name="pid"/> (0 SCHED_OTHER, 5 SCHED_IDLE).</summary>
    internal static List<int> Policies(int pid) => ThreadStatField(pid, 38);

    /// <summary>
    /// A field of /proc/PID/task/TID/stat (counted from the state, the first after the name) for each thread - but the
    /// one a process runs only to start a standby at a lower priority ("Baton niced spawn"), which ends once it has.
    /// </summary>
    private static List<int> ThreadStatField(int pid, int field) =>
        Directory.EnumerateDirectories($"/proc/{pid}/task")
            .Select(task => ReadOrNull(Path.Combine(task, "stat")))
            .OfType<string>()
            .Where(stat => !stat[(stat.IndexOf('(') + 1)..].StartsWith("Baton niced", StringComparison.Ordinal))
            .Select(stat => stat[(stat.LastIndexOf(')') + 2)..].Split(' '))
            .Select(fields => int.Parse(fields[field], CultureInfo.InvariantCulture))
            .ToList();

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
