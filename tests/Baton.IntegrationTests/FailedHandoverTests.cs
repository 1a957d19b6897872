using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>A successor that cannot start leaves the old process serving, untouched, and says why.</summary>
public sealed class FailedHandoverTests
{
    [Fact]
    public async Task Broken_appsettings_keeps_the_old_process_serving_and_a_fixed_file_then_hands_over()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var load = new LoadGenerator(new Uri(server.BaseAddress, "/"), ConnectionMode.KeepAlive, workers: 8);
        load.Start();
        await load.WaitForProgressAsync();

        var settings = Path.Combine(server.WorkDirectory, "appsettings.json");
        var good = await File.ReadAllTextAsync(settings);

        // Half-written, as an editor or a deploy might leave it. The serving process must not even notice.
        await File.WriteAllTextAsync(settings, good[..(good.Length / 2)]);
        await load.WaitForProgressAsync();
        var original = server.RootPid;
        server.Signal(original, Posix.SIGHUP);
        var failure = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal));
        Assert.Contains($"process {original} keeps serving", failure, StringComparison.Ordinal);
        Assert.Contains("before it was ready: Unhandled exception. System.IO.InvalidDataException: Failed to load configuration from file", failure, StringComparison.Ordinal);

        await load.WaitForProgressAsync();
        Assert.Equal(original, server.ReadPidFile());
        Assert.Equal([original], server.AlivePids());

        // A later SIGHUP, with the file fixed, works.
        await File.WriteAllTextAsync(settings, good);
        var next = await server.RestartAsync(original);
        await server.WaitForExitAsync(original, TimeSpan.FromSeconds(20));
        await load.WaitForProgressAsync();
        var result = await load.StopAsync();

        Assert.True(result.Failed == 0, result.ToString());
        Assert.Equal(next, server.ReadPidFile());
        Assert.Equal([next], server.AlivePids());
    }

    [Fact]
    public async Task A_successor_that_never_becomes_ready_is_killed_at_ReadyTimeout_and_the_old_one_serves_on()
    {
        // The sample's Hello:StartDelayMilliseconds setting, added to the file after the first start, makes the
        // successor hang while starting.
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello, ["--Baton:ReadyTimeout=00:00:01"]);
        var original = server.RootPid;
        await server.DelayNextStartAsync(5000);

        server.Signal(original, Posix.SIGHUP);
        var failure = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal));
        Assert.Contains("was not ready within 1 s; it was killed", failure, StringComparison.Ordinal);

        var client = new MiniHttpClient(server.BaseAddress);
        var (status, body, _) = await client.GetAsync("/", closeAfter: true, CancellationToken.None);
        Assert.Equal(200, status);
        Assert.Contains($"\"pid\":{original}", body, StringComparison.Ordinal);
        Assert.Equal([original], server.AlivePids());
        Assert.Equal(original, server.ReadPidFile());
    }
}
