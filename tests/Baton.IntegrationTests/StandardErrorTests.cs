using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>Standard error reaches the real one in every generation, through every writer the process has.</summary>
public sealed class StandardErrorTests
{
    [Fact]
    public async Task An_app_logging_to_standard_error_has_every_generations_lines_in_the_log_across_three_sighups()
    {
        await using var server = await ServerProcess.StartAsync(
            SampleApp.Hello, ["--Logging:Console:LogToStandardErrorThreshold=Trace"]);
        var serving = server.RootPid;
        var generations = new List<int> { serving };
        for (var i = 0; i < 3; i++)
        {
            serving = await server.RestartAsync(serving);
            generations.Add(serving);
            await server.WaitForExitAsync(generations[^2], TimeSpan.FromSeconds(30));

            // Logged by the new generation after it took over, with its predecessor gone: only the real standard
            // error can carry it.
            var client = new MiniHttpClient(server.BaseAddress);
            var (status, _, _) = await client.GetAsync("/slow?ms=1", closeAfter: true, CancellationToken.None);
            Assert.Equal(200, status);
            await WaitForStandardErrorAsync(server, $"Slow request started: 1 ms in process {serving}");
        }

        foreach (var pid in generations)
        {
            Assert.Contains(server.StandardErrorLines, l => l.Contains($"Actual pid is {pid}", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Console_Error_and_raw_descriptor_2_of_a_successor_reach_the_real_standard_error_after_its_predecessor_exits()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp);
        var next = await server.RestartAsync(server.RootPid);
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(30));

        // The successor wrote to Console.Error before it served, so the runtime holds its own copy of descriptor 2.
        Assert.Contains(server.StandardErrorLines, l => l.Contains($"stderr before serving, generation 2, pid {next}", StringComparison.Ordinal));
        var client = new MiniHttpClient(server.BaseAddress);
        var (status, body, _) = await client.GetAsync("/stderr?text=after-handover", closeAfter: true, CancellationToken.None);
        Assert.Equal(200, status);
        Assert.Contains($"\"pid\":{next}", body, StringComparison.Ordinal);
        await WaitForStandardErrorAsync(server, $"after-handover from pid {next}");
        await WaitForStandardErrorAsync(server, $"after-handover raw fd 2 from pid {next}");
    }

    [Fact]
    public async Task A_helper_started_before_ready_keeps_writing_to_standard_error_after_the_handover()
    {
        // Each generation starts a shell that writes a line every 100 ms for 4 s and exits 9 on a failed write.
        await using var server = await ServerProcess.StartAsync(SampleApp.TestApp, ["--TestApp:StderrHelperSeconds=4"]);
        var next = await server.RestartAsync(server.RootPid);
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(30));

        // The successor's helper started while its standard error was still the parent's relay; with the parent gone
        // it still writes, and its lines arrive, up to the last one.
        await WaitForStandardErrorAsync(server, "helper of generation 2 line 39", TimeSpan.FromSeconds(20));
        var lines = server.StandardErrorLines.Where(l => l.StartsWith("helper of generation 2 line ", StringComparison.Ordinal)).ToList();
        Assert.Equal(40, lines.Distinct().Count());
        Assert.Contains(next, server.AlivePids());
    }

    private static async Task WaitForStandardErrorAsync(ServerProcess server, string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!server.StandardErrorLines.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{text}' never reached standard error. Standard error:\n{string.Join('\n', server.StandardErrorLines)}");
            }

            await Task.Delay(20);
        }
    }
}
