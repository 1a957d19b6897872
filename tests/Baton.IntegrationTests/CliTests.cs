using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests;

/// <summary>The baton command against real servers: a reload it confirms, status, stop, and the servers it refuses to touch.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class CliTests
{
    [Fact]
    public async Task Reload_against_a_healthy_server_exits_0_with_the_new_pid_which_then_serves()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var (exit, output, error) = await BatonCli.RunAsync("reload", "--pid-file", server.PidFile);

        Assert.True(exit == 0, error);
        var next = int.Parse(NewPidRegex().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.NotEqual(server.RootPid, next);
        Assert.Equal(next, server.ReadPidFile());
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));
        await server.AssertOnlyServerAsync(next);
    }

    [Fact]
    public async Task Reload_with_a_broken_appsettings_exits_1_with_the_reason_and_the_old_pid_serves_on()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        await File.WriteAllTextAsync(Path.Combine(server.WorkDirectory, "appsettings.json"), "{ \"Baton\": { \"ReadyTimeout\": ");

        var (exit, _, error) = await BatonCli.RunAsync("reload", "--pid-file", server.PidFile);

        Assert.Equal(1, exit);
        Assert.Contains($"reload FAILED, process {server.RootPid} serves on:", error, StringComparison.Ordinal);
        Assert.Contains("JSON", error, StringComparison.Ordinal);
        await server.AssertOnlyServerAsync(server.RootPid);
        Assert.Equal(server.RootPid, server.ReadPidFile());
    }

    [Fact]
    public async Task Reload_while_the_predecessor_still_drains_is_deferred_with_exit_4()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var slow = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=4000", closeAfter: true, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));
        Assert.Equal(0, (await BatonCli.RunAsync("reload", "--pid-file", server.PidFile)).ExitCode);

        var (exit, _, error) = await BatonCli.RunAsync("reload", "--pid-file", server.PidFile);
        Assert.Equal(4, exit);
        Assert.Contains($"that this one took over from still drains (1 connection(s) open)", error, StringComparison.Ordinal);
        Assert.Equal(200, (await slow).Status);
    }

    [Fact]
    public async Task Status_shows_pid_generation_addresses_connections_the_draining_process_and_the_last_reload()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var slow = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=4000", closeAfter: true, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));
        var next = await server.RestartAsync(server.RootPid);

        var (exit, output, error) = await BatonCli.RunAsync("status", "--pid-file", server.PidFile, "--json");
        Assert.True(exit == 0, error);
        using var json = JsonDocument.Parse(output);
        var status = json.RootElement.GetProperty("status");
        Assert.Equal(next, status.GetProperty("pid").GetInt32());
        Assert.Equal(2, status.GetProperty("generation").GetInt32());
        Assert.Equal("Serving", status.GetProperty("state").GetString());
        Assert.Equal(server.BaseAddress.ToString().TrimEnd('/'), status.GetProperty("addresses")[0].GetString());
        Assert.Equal(server.RootPid, status.GetProperty("draining").GetProperty("pid").GetInt32());
        Assert.Equal(1, status.GetProperty("draining").GetProperty("connections").GetInt32());
        Assert.Equal("ok", status.GetProperty("lastReload").GetProperty("result").GetString());
        Assert.True(status.GetProperty("uptimeSeconds").GetDouble() > 0);

        (exit, output, _) = await BatonCli.RunAsync("status", "--pid-file", server.PidFile);
        Assert.Equal(0, exit);
        Assert.Contains($"pid:          {next} (generation 2, Serving)", output, StringComparison.Ordinal);
        Assert.Contains($"draining:     process {server.RootPid} (1 connection(s) open)", output, StringComparison.Ordinal);
        Assert.Contains("last reload:  ok at", output, StringComparison.Ordinal);
        Assert.Equal(200, (await slow).Status);
    }

    [Fact]
    public async Task Stop_lets_the_request_in_flight_finish_and_returns_once_the_server_has_exited()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var slow = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=1500", closeAfter: true, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));

        var (exit, output, error) = await BatonCli.RunAsync("stop", "--pid-file", server.PidFile);
        Assert.True(exit == 0, error);
        Assert.Contains($"stopped: process {server.RootPid} has exited", output, StringComparison.Ordinal);
        Assert.True(slow.IsCompleted);
        Assert.Equal(200, (await slow).Status);
        Assert.Empty(server.AlivePids());
        Assert.False(File.Exists(server.PidFile));
        Assert.False(File.Exists(server.PidFile + ".sock"), "the final stop removes the control socket");
    }

    [Fact]
    public async Task Stop_with_hammer_cuts_a_long_request_and_returns_at_once()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var slow = new MiniHttpClient(server.BaseAddress).GetAsync("/slow?ms=60000", closeAfter: true, CancellationToken.None);
        await server.WaitForLineAsync(l => l.Contains("Slow request started", StringComparison.Ordinal));

        var clock = Stopwatch.StartNew();
        var (exit, _, error) = await BatonCli.RunAsync("stop", "--pid-file", server.PidFile, "--hammer");
        Assert.True(exit == 0, error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        await Assert.ThrowsAnyAsync<Exception>(() => slow);
    }

    [Fact]
    public async Task A_stale_pid_file_naming_another_program_gets_exit_3_and_that_program_is_not_signalled()
    {
        var directory = Directory.CreateTempSubdirectory("baton-cli-").FullName;
        using var other = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        try
        {
            var pidFile = Path.Combine(directory, "app.pid");
            await File.WriteAllTextAsync(pidFile, other.Id.ToString(CultureInfo.InvariantCulture) + "\n");
            foreach (var command in new[] { "reload", "stop", "status" })
            {
                var (exit, _, error) = await BatonCli.RunAsync(command, "--pid-file", pidFile);
                Assert.Equal(3, exit);
                Assert.Contains($"names process {other.Id} (sleep 60), which is not a Baton server", error, StringComparison.Ordinal);
                Assert.Contains("Nothing was sent", error, StringComparison.Ordinal);
            }

            Assert.False(other.HasExited, "the program the stale pid file names was left alone");

            await File.WriteAllTextAsync(pidFile, "999999\n");
            var stale = await BatonCli.RunAsync("reload", "--pid-file", pidFile);
            Assert.Equal(3, stale.ExitCode);
            Assert.Contains("names process 999999, which does not exist (a stale pid file; nothing was sent)", stale.Error, StringComparison.Ordinal);

            var missing = await BatonCli.RunAsync("status", "--pid-file", Path.Combine(directory, "none.pid"));
            Assert.Equal(3, missing.ExitCode);
        }
        finally
        {
            other.Kill();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_control_socket_is_0600_and_another_user_is_refused_even_when_the_mode_would_let_it_in()
    {
        await using var server = await ServerProcess.StartAsync(SampleApp.Hello);
        var socket = server.PidFile + ".sock";
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));

        // Opened up by hand (and the directory made passable), the peer-credentials check still refuses user nobody:
        // baton itself, run as nobody, asks to stop the server.
        File.SetUnixFileMode(socket, (UnixFileMode)0x1B6);
        File.SetUnixFileMode(server.WorkDirectory, (UnixFileMode)0x1ED);
        var start = new ProcessStartInfo("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "dotnet", BatonCli.Assembly, "stop", "--pid-file", server.PidFile])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        using var nobody = Process.Start(start)!;
        var error = await nobody.StandardError.ReadToEndAsync();
        await nobody.WaitForExitAsync();
        Assert.Equal(1, nobody.ExitCode);
        Assert.Contains("user 65534 may not control this server", error, StringComparison.Ordinal);
        await server.AssertOnlyServerAsync(server.RootPid);
    }

    [Fact]
    public async Task Bad_command_lines_exit_2()
    {
        Assert.Equal(2, (await BatonCli.RunAsync("reload")).ExitCode);
        Assert.Equal(2, (await BatonCli.RunAsync("frobnicate")).ExitCode);
        var help = await BatonCli.RunAsync("--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Exit codes:", help.Output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"reloaded: process (\d+)")]
    private static partial Regex NewPidRegex();
}
