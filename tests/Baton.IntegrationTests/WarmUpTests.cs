using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>A successor drives requests through its own pipeline before it reports ready, and only then.</summary>
public sealed class WarmUpTests
{
    [Fact]
    public async Task A_successor_warms_up_the_configured_paths_before_it_reports_ready_without_touching_the_shared_socket()
    {
        // samples/Hello names "/" and "/slow?ms=1" in Baton:WarmUpPaths; each gets two connections with two requests.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var load = new LoadGenerator(new Uri(server.BaseAddress, "/"), ConnectionMode.NewConnectionPerRequest, workers: 4);
        load.Start();
        await load.WaitForProgressAsync();

        var first = server.RootPid;
        var next = await server.RestartAsync(first);
        await load.WaitForServedByAsync(next);
        var result = await load.StopAsync();

        var lines = await AssertWarmedUpBeforeServingAsync(server, next);

        // Where its start-up went, from its parent's spawn to "ready", the warm-up one of the steps.
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(
            l, $@"Process {next} start-up: spawn to UseBaton [\d.]+, to host start [\d.]+, to Kestrel listening [\d.]+, warm-up [\d.]+, pid file [\d.]+, to ready [\d.]+; [\d.]+ ms in all"));

        // The handler told its warm-up requests apart (HttpContext.IsBatonWarmUp()) and logged none of them; and no
        // client was answered by the new process before it was ready - or failed.
        Assert.DoesNotContain(lines, l => l.Contains($"Slow request started: 1 ms in process {next}", StringComparison.Ordinal));
        Assert.True(result.Failed == 0, result.ToString());
        Assert.Equal(1, await server.WaitUntilSettledAsync());
    }

    [Fact]
    public async Task Without_warm_up_the_successor_reports_ready_cold()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Baton:WarmUp=false"]);
        var next = await server.RestartAsync(server.RootPid);
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(30));
        await server.AssertOnlyServerAsync(next);
        Assert.DoesNotContain("warm", server.Log, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Found_endpoints_are_warmed_when_no_path_is_named_and_slow_ones_do_not_hold_the_handover()
    {
        // An empty path list in configuration cannot be written, so the app's settings file loses it: then every GET
        // endpoint without route parameters is requested - "/slow" and "/stubborn" wait 1 s, "/events" never ends.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var settings = Path.Combine(server.WorkDirectory, "appsettings.json");
        var text = await File.ReadAllTextAsync(settings);
        Assert.Contains("\"WarmUpPaths\": [ \"/\", \"/slow?ms=1\" ]", text, StringComparison.Ordinal);
        await File.WriteAllTextAsync(settings, text.Replace("\"WarmUpPaths\": [ \"/\", \"/slow?ms=1\" ]", "\"WarmUpPaths\": [ ]", StringComparison.Ordinal));
        var next = await server.RestartAsync(server.RootPid);
        var warmed = await server.WaitForLineAsync(l => l.Contains($"Process {next} warmed up:", StringComparison.Ordinal));

        // "/", "/slow", "/stubborn", "/big", "/ws", "/events" (not the health checks); "/slow" and "/stubborn" give no
        // head within 250 ms (nor might, on a busy machine, a cold "/"), and get one connection, not two; "/events"
        // streams, so the request after it on its connection never gets an answer (each connection carries two).
        Assert.Contains("request(s) to 6 path(s)", warmed, StringComparison.Ordinal);
        Assert.Contains("none x", warmed, StringComparison.Ordinal);
        var requests = int.Parse(System.Text.RegularExpressions.Regex.Match(warmed, @"warmed up: (\d+) request").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(requests, 6, 24);
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(30));
        await server.AssertOnlyServerAsync(next);
    }

    [Fact]
    public async Task Each_process_compiles_batons_code_a_second_after_it_serves_under_the_jit_only()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Logging:LogLevel:Baton=Debug"]);
        if (SampleApp.Hello.IsNative)
        {
            // Everything was compiled at publish: nothing to do, nothing said.
            var handedTo = await server.RestartAsync(server.RootPid);
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.DoesNotContain("of Baton's methods ahead of their first call", server.Log, StringComparison.Ordinal);
            await server.AssertOnlyServerAsync(handedTo);
            return;
        }

        // The first process, in time for its own handover; then the new one, once it serves.
        var first = await server.WaitForLineAsync(l => l.Contains($"Process {server.RootPid} compiled ", StringComparison.Ordinal));
        var next = await server.RestartAsync(server.RootPid);
        var second = await server.WaitForLineAsync(l => l.Contains($"Process {next} compiled ", StringComparison.Ordinal));
        foreach (var line in new[] { first, second })
        {
            var methods = int.Parse(System.Text.RegularExpressions.Regex.Match(line, @"compiled (\d+) of Baton's methods").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(methods > 1000, line);
        }
    }

    /// <summary>
    /// Checks that <paramref name="next"/> (generation 2) answered samples/Hello's two named paths with 200 on every
    /// warm-up request before it served; returns the log's lines.
    /// </summary>
    internal static async Task<string[]> AssertWarmedUpBeforeServingAsync(ServerProcess server, int next)
    {
        // The new process's own lines reach the log in their own time (RestartAsync returns on the old one's): its
        // start-up line is the last of them.
        await server.WaitForLineAsync(l => l.Contains($"Process {next} start-up:", StringComparison.Ordinal));
        var lines = server.Log.Split('\n');
        var warmed = Array.FindIndex(lines, l => l.Contains($"Process {next} warmed up: 8 request(s) to 2 path(s) in ", StringComparison.Ordinal));

        // Before it serves, in its own log: the two processes' lines interleave in no set order (each logger writes
        // when it gets to it), so the old process's "ready after" may come first.
        var serving = Array.FindIndex(lines, l => l.Contains($"Process {next} (generation 2) serves on", StringComparison.Ordinal));
        Assert.True(warmed >= 0 && warmed < serving, server.Log);
        Assert.EndsWith("(200 x8)", lines[warmed], StringComparison.Ordinal);
        return lines;
    }
}
