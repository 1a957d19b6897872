using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>
/// Baton:Standby: a successor started ahead of any SIGHUP waits, ready; a SIGHUP hands over to it - unless a file it read
/// changed since, then a new process starts as without a standby, and serves what the files say now.
/// </summary>
public sealed partial class StandbyTests
{
    [GeneratedRegex(@"while it waited: (\d+) round\(s\)")]
    private static partial Regex WarmedOnRounds();

    private static readonly string[] Standby = ["--Baton:Standby=true"];

    [Theory]
    [InlineData(ConnectionMode.NewConnectionPerRequest)]
    [InlineData(ConnectionMode.KeepAlive)]
    public async Task Five_sighups_under_load_each_hand_over_to_a_ready_standby_and_no_request_fails(ConnectionMode mode)
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, Standby);
        var load = new LoadGenerator(new Uri(server.BaseAddress, "/"), mode, workers: 16);
        load.Start();
        var serving = server.RootPid;
        var generations = new List<int> { serving };
        for (var i = 0; i < 5; i++)
        {
            var standby = await StandbyReadyAsync(server, serving);
            await load.WaitForServedByAsync(serving);
            var next = await server.RestartAsync(serving);

            // The standby it had, told to go: no new process was started for this SIGHUP.
            Assert.Equal(standby, next);
            Assert.Contains(server.Log.Split('\n'), l => l.Contains($"SIGHUP: process {serving} hands over to standby process {standby}", StringComparison.Ordinal));
            Assert.Equal(next, server.ReadPidFile());
            generations.Add(next);
            serving = next;
        }

        await load.WaitForServedByAsync(serving);
        var result = await load.StopAsync();
        foreach (var old in generations.SkipLast(1))
        {
            await server.WaitForExitAsync(old, TimeSpan.FromSeconds(20));
        }

        Assert.True(result.Failed == 0, result.ToString());
        Assert.Equal(generations.Order(), result.RequestsByPid.Keys.Order());
        Assert.Equal(0, server.CountLines(l => l.Contains(" started by process ", StringComparison.Ordinal)));

        // The one serving and its own standby, nothing else; a SIGTERM ends both.
        var last = await StandbyReadyAsync(server, serving);
        Assert.Equal([serving, last], server.AlivePids().Order());
        server.Signal(serving, Posix.SIGTERM);
        await server.WaitForExitAsync(serving, TimeSpan.FromSeconds(20));
        Assert.False(Posix.IsAlive(last), $"standby {last} outlived the process it stood by for");
        Assert.Contains(server.Log.Split('\n'), l => l.Contains($"Standby process {last} stopped (exited with code 0)", StringComparison.Ordinal));
        Assert.Empty(server.AlivePids());
        Assert.False(File.Exists(server.PidFile), "the pid file is removed by the final stop");
        Assert.Equal(0, server.Root.ExitCode);
    }

    [Fact]
    public async Task A_sighup_right_after_a_configuration_change_starts_a_new_process_that_serves_the_new_configuration()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, Standby, prepare: directory =>
        {
            ListeningSockets.WriteEndpoints(directory, new JsonObject { ["Http"] = Url("http://127.0.0.1:0") });
            return Task.CompletedTask;
        });
        var stale = await StandbyReadyAsync(server, server.RootPid);

        // An endpoint added, then SIGHUP at once: before any look at the files between two SIGHUPs could notice.
        var socketPath = Path.Combine(server.WorkDirectory, "added.sock");
        ListeningSockets.WriteEndpoints(server.WorkDirectory, new JsonObject
        {
            ["Http"] = Url(server.BaseAddress.ToString()),
            ["UnixAdded"] = Url($"http://unix:{socketPath}"),
        });
        var next = await server.RestartAsync(server.RootPid);

        Assert.NotEqual(stale, next);
        Assert.Contains(server.Log.Split('\n'), l =>
            l.Contains($"SIGHUP: standby process {stale} is out of date ({Path.Combine(server.WorkDirectory, "appsettings.json")} was replaced)", StringComparison.Ordinal));
        Assert.Contains(server.Log.Split('\n'), l => l.Contains($"New process {next} started by process {server.RootPid}", StringComparison.Ordinal));
        Assert.Equal(next, await ListeningSockets.PidAnsweringOnUnixAsync(socketPath));
        await server.WaitForLineAsync(l => l.Contains($"Standby process {stale} stopped (exited with code 0)", StringComparison.Ordinal));
        await server.WaitForExitAsync(stale, TimeSpan.FromSeconds(20));

        // The new process keeps a standby of its own, with the new configuration: the Unix socket is inherited by it.
        var standby = await StandbyReadyAsync(server, next);
        var third = await server.RestartAsync(next);
        Assert.Equal(standby, third);
        Assert.Equal(third, await ListeningSockets.PidAnsweringOnUnixAsync(socketPath));
        Assert.Contains(server.Log.Split('\n'), l => l.Contains($"Process {third} adopted inherited listener unix:{socketPath}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_configuration_change_without_a_sighup_replaces_the_standby_and_the_next_sighup_uses_the_new_one()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, Standby);
        var first = await StandbyReadyAsync(server, server.RootPid);

        var settings = Path.Combine(server.WorkDirectory, "appsettings.json");
        await File.AppendAllTextAsync(settings, "\n");
        await server.WaitForLineAsync(l => l.Contains($"Standby process {first} is out of date ({settings} was modified)", StringComparison.Ordinal));
        var second = await StandbyReadyAsync(server, server.RootPid, skip: 1);
        Assert.NotEqual(first, second);
        Assert.False(Posix.IsAlive(first), $"replaced standby {first} is still alive");

        var next = await server.RestartAsync(server.RootPid);
        Assert.Equal(second, next);
    }

    [Fact]
    public async Task A_standby_that_fails_to_start_says_why_at_once_the_sighup_fails_the_same_way_and_a_fix_brings_one_back()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, Standby);
        await StandbyReadyAsync(server, server.RootPid);

        var settings = Path.Combine(server.WorkDirectory, "appsettings.json");
        var good = await File.ReadAllTextAsync(settings);
        var bad = good.Replace("\"HammerTime\": \"00:01:00\"", "\"HammerTime\": \"-00:00:01\"", StringComparison.Ordinal);
        Assert.NotEqual(good, bad);
        await File.WriteAllTextAsync(settings, bad);

        // Said without any SIGHUP, as soon as the replacement standby failed.
        var failed = await server.WaitForLineAsync(l => l.Contains("STANDBY FAILED", StringComparison.Ordinal));
        Assert.Contains($"process {server.RootPid} keeps serving", failed, StringComparison.Ordinal);
        Assert.Contains("Baton:HammerTime must not be negative", failed, StringComparison.Ordinal);

        // A SIGHUP tries a new process, which fails the same way; the old one serves on.
        server.Signal(server.RootPid, Posix.SIGHUP);
        var handover = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal));
        Assert.Contains("Baton:HammerTime must not be negative", handover, StringComparison.Ordinal);
        await server.AssertOnlyServerAsync(server.RootPid);

        // Fixed: a standby is back without a SIGHUP, and the next SIGHUP hands over to it.
        await File.WriteAllTextAsync(settings, good);
        var standby = await StandbyReadyAsync(server, server.RootPid, skip: 1);
        var next = await server.RestartAsync(server.RootPid);
        Assert.Equal(standby, next);
    }

    [Fact]
    public async Task A_certificate_swapped_just_before_a_sighup_is_served_by_the_new_process()
    {
        string certificate = null!, key = null!, before = null!;
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, Standby, prepare: directory =>
        {
            certificate = Path.Combine(directory, "cert.pem");
            key = Path.Combine(directory, "key.pem");
            before = TestCertificates.WritePem(certificate, key, "standby-before");
            ListeningSockets.WriteEndpoints(directory, new JsonObject
            {
                ["Http"] = Url("http://127.0.0.1:0"),
                ["Https"] = new JsonObject { ["Url"] = "https://127.0.0.1:0", ["Certificate"] = new JsonObject { ["Path"] = "cert.pem", ["KeyPath"] = "key.pem" } },
            });
            return Task.CompletedTask;
        });
        var https = await server.ListeningAddressAsync("https");
        var stale = await StandbyReadyAsync(server, server.RootPid);
        Assert.Equal(before, await TestCertificates.ServedThumbprintAsync(https.Port));

        var after = TestCertificates.WritePem(certificate + ".new", key + ".new", "standby-after");
        File.Move(key + ".new", key, overwrite: true);
        File.Move(certificate + ".new", certificate, overwrite: true);
        var next = await server.RestartAsync(server.RootPid);

        Assert.NotEqual(stale, next);
        Assert.Contains(server.Log.Split('\n'), l => l.Contains($"SIGHUP: standby process {stale} is out of date", StringComparison.Ordinal) && l.Contains(".pem was replaced", StringComparison.Ordinal));
        Assert.Equal(after, await TestCertificates.ServedThumbprintAsync(https.Port));
    }

    [Fact]
    public async Task A_standby_killed_while_it_stands_by_is_reported_and_the_next_sighup_starts_a_new_process()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, Standby);
        var standby = await StandbyReadyAsync(server, server.RootPid);

        server.Signal(standby, Posix.SIGKILL);
        var died = await server.WaitForLineAsync(l => l.Contains("STANDBY DIED", StringComparison.Ordinal));
        Assert.Contains($"process {standby} was killed by signal 9 (SIGKILL)", died, StringComparison.Ordinal);
        Assert.Equal([server.RootPid], server.AlivePids());

        var next = await server.RestartAsync(server.RootPid);
        Assert.Contains(server.Log.Split('\n'), l => l.Contains($"New process {next} started by process {server.RootPid}", StringComparison.Ordinal));
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));
        var nextStandby = await StandbyReadyAsync(server, next);
        Assert.Equal([next, nextStandby], server.AlivePids().Order());
    }

    [Fact]
    public async Task A_sighup_sent_to_the_standby_itself_is_refused_and_changes_nothing()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, Standby);
        var standby = await StandbyReadyAsync(server, server.RootPid);

        // It stands by at nice 19 (where it may take its parent's priority back; else at its parent's).
        var parentNice = SuccessorPriorityTests.NiceValues(server.RootPid).Distinct().Single();
        var lowered = !server.Log.Contains("Baton:StandbyNice=19 is left out", StringComparison.Ordinal);
        Assert.All(SuccessorPriorityTests.NiceValues(standby), n => Assert.Equal(lowered ? 19 : parentNice, n));

        server.Signal(standby, Posix.SIGHUP);
        await server.WaitForLineAsync(l => l.Contains($"SIGHUP refused by process {standby}: it is a standby, it has not been told to serve yet", StringComparison.Ordinal) && l.Contains($"send SIGHUP to process {server.RootPid}", StringComparison.Ordinal));
        Assert.Equal(server.RootPid, server.ReadPidFile());
        await server.AssertOnlyServerAsync(server.RootPid, alsoAlive: standby);

        Assert.Equal(standby, await server.RestartAsync(server.RootPid));

        // Told "go", it serves at its parent's priority.
        if (lowered)
        {
            await server.WaitForLineAsync(l => l.Contains($"Process {standby} serves at its parent's priority again (nice {parentNice})", StringComparison.Ordinal));
        }

        Assert.All(SuccessorPriorityTests.NiceValues(standby), n => Assert.Equal(parentNice, n));
    }

    [Fact]
    public async Task A_standby_warms_up_on_while_it_waits_until_the_jit_is_quiet_and_a_sighup_meanwhile_ends_that_at_once()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, [.. Standby, "--Logging:LogLevel:Baton=Debug"]);
        var standby = await StandbyReadyAsync(server, server.RootPid);
        if (SampleApp.Hello.IsNative)
        {
            // Compiled at publish: nothing for the JIT to promote, so a standby has nothing to go on with.
            var handedTo = await server.RestartAsync(server.RootPid);
            Assert.Equal(standby, handedTo);
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.DoesNotContain("warmed up on while it waited", server.Log, StringComparison.Ordinal);
            return;
        }

        // Left alone, it warms up on until the JIT has nothing left to compile - and compiled something on the way: the
        // promotions its warm-up before "ready" set off.
        var quiet = await server.WaitForLineAsync(l => l.Contains($"Standby process {standby} warmed up on while it waited", StringComparison.Ordinal), TimeSpan.FromSeconds(45));
        Assert.Contains("stopped: the JIT had nothing left to compile", quiet, StringComparison.Ordinal);
        var rounds = int.Parse(WarmedOnRounds().Match(quiet).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(rounds, 40, 100_000);

        // Its own standby, told to serve while it still warms up: the SIGHUP ends that, and takes no longer for it.
        var next = await server.RestartAsync(server.RootPid);
        Assert.Equal(standby, next);
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));
        var second = await StandbyReadyAsync(server, next);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(second, await server.RestartAsync(next));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the handover took {clock.Elapsed}");
        var told = await server.WaitForLineAsync(l => l.Contains($"Standby process {second} warmed up on while it waited", StringComparison.Ordinal));
        Assert.Contains("stopped: told to serve", told, StringComparison.Ordinal);
        await server.WaitForLineAsync(l => l.Contains($"Process {second} in its first 2 s of serving: the JIT compiled", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_standby_waits_under_SCHED_IDLE_by_default_and_serves_under_its_parents_policy(bool idle)
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, idle ? Standby : [.. Standby, "--Baton:StandbyIdle=false"]);
        var standby = await StandbyReadyAsync(server, server.RootPid);
        Assert.All(SuccessorPriorityTests.Policies(server.RootPid), p => Assert.Equal(0, p));
        var parentNice = SuccessorPriorityTests.NiceValues(server.RootPid).Distinct().Single();

        // Only where it may be taken back (as the nice value); else the standby runs as its parent does. With
        // StandbyIdle=false, at nice 19 under the default policy.
        var allowed = !server.Log.Contains("Baton:StandbyNice=19 is left out", StringComparison.Ordinal);
        var lowered = idle && allowed;
        Assert.All(SuccessorPriorityTests.Policies(standby), p => Assert.Equal(lowered ? 5 : 0, p));

        Assert.Equal(standby, await server.RestartAsync(server.RootPid));
        if (allowed)
        {
            await server.WaitForLineAsync(l => l.Contains($"Process {standby} serves at its parent's priority again", StringComparison.Ordinal));
        }

        // Every thread, within a look again 250 ms after "go" (for one that was being created as its priority was set).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        while (SuccessorPriorityTests.Policies(standby).Any(p => p != 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.All(SuccessorPriorityTests.Policies(standby), p => Assert.Equal(0, p));
        Assert.All(SuccessorPriorityTests.NiceValues(standby), n => Assert.Equal(parentNice, n));

        // Its own standby, started from a process that serves under SCHED_OTHER again, waits under SCHED_IDLE in turn.
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));
        var next = await StandbyReadyAsync(server, standby);
        Assert.All(SuccessorPriorityTests.Policies(next), p => Assert.Equal(lowered ? 5 : 0, p));
    }

    [Fact]
    public async Task When_the_serving_process_is_killed_its_standby_stops_too_and_nothing_holds_the_port()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, Standby);
        var standby = await StandbyReadyAsync(server, server.RootPid);

        server.Signal(server.RootPid, Posix.SIGKILL);
        await server.WaitForLineAsync(l => l.Contains($"Standby process {standby}: process {server.RootPid} it stood by for is gone without telling it to serve", StringComparison.Ordinal));
        await server.WaitForExitAsync(standby, TimeSpan.FromSeconds(20));
        Assert.Empty(server.AlivePids());

        // As without a standby: the port is free for whatever starts the service again.
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, server.Port));
    }

    /// <summary>Waits for the next standby of <paramref name="parent"/> to be ready (after <paramref name="skip"/> earlier ones); returns its pid.</summary>
    private static async Task<int> StandbyReadyAsync(ServerProcess server, int parent, int skip = 0)
    {
        var line = await server.WaitForLineAsync(
            l => l.Contains("Standby process ", StringComparison.Ordinal) && l.Contains($"; process {parent} hands over to it at the next SIGHUP", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60),
            skip);
        return int.Parse(StandbyReadyRegex().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static JsonObject Url(string url) => new() { ["Url"] = url.TrimEnd('/') };

    [GeneratedRegex(@"Standby process (\d+) is ready after")]
    private static partial Regex StandbyReadyRegex();
}
