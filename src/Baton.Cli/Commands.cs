using System.Globalization;
using System.Text;
using System.Text.Json;
using Baton.Control;

namespace Baton.Cli;

/// <summary>baton reload, status and stop: one request on the control channel each, and what to make of the answer.</summary>
internal static class Commands
{
    public static async Task<int> ReloadAsync(string pidFile, TimeSpan timeout, TextWriter output)
    {
        var answer = await ControlClient.SendAsync(pidFile, ControlProtocol.Reload, timeout).ConfigureAwait(false);
        switch (answer.Result)
        {
            case "ok":
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"reloaded: process {answer.NewPid} (generation {answer.NewGeneration}) serves, ready {answer.ElapsedMs:0} ms after the reload; process {answer.Pid} drains and exits"));
                return ExitCodes.Ok;
            case "failed":
                throw new CommandFailure(ExitCodes.Failed, $"reload FAILED, process {answer.Pid} serves on: {answer.Reason}");
            case "deferred":
                throw new CommandFailure(ExitCodes.NotNow, $"reload deferred by process {answer.Pid}: {answer.Reason}");
            case "refused":
                throw new CommandFailure(ExitCodes.NotNow, $"reload refused: {answer.Reason}");
            default:
                throw new CommandFailure(ExitCodes.Failed, $"process {answer.Pid}: {answer.Reason}");
        }
    }

    public static async Task<int> StatusAsync(string pidFile, bool json, TextWriter output)
    {
        var answer = await ControlClient.SendAsync(pidFile, ControlProtocol.Status, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        var status = answer.Status ?? throw new CommandFailure(ExitCodes.Failed, $"process {answer.Pid}: {answer.Reason}");
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(answer, ControlJson.Default.ControlResponse));
            return ExitCodes.Ok;
        }

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"pid:          {status.Pid} (generation {status.Generation}, {status.State})");
        text.AppendLine(CultureInfo.InvariantCulture, $"up:           {FormatDuration(TimeSpan.FromSeconds(status.UptimeSeconds))} (since {status.StartedAt:u})");
        text.AppendLine(CultureInfo.InvariantCulture, $"listening on: {(status.Addresses.Count == 0 ? "-" : string.Join(", ", status.Addresses))}");
        text.AppendLine(CultureInfo.InvariantCulture, $"connections:  {status.Connections} open, {status.RequestsInFlight} request(s) in flight");
        text.AppendLine(status.Draining is { } draining
            ? string.Create(CultureInfo.InvariantCulture, $"draining:     process {draining.Pid} ({(draining.Connections is { } n ? n.ToString(CultureInfo.InvariantCulture) : "?")} connection(s) open)")
            : "draining:     none");
        if (status.Standby is { } standby)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"standby:      process {standby.Pid} ({(standby.Ready ? "ready" : "starting")})");
        }

        text.AppendLine(status.LastReload is { } reload
            ? string.Create(CultureInfo.InvariantCulture, $"last reload:  {reload.Result} at {reload.At:u}{(reload.Pid is { } pid ? $", process {pid}" : string.Empty)}{(reload.Reason is { } reason ? $": {reason}" : string.Empty)}")
            : "last reload:  none");
        output.Write(text.ToString());
        return ExitCodes.Ok;
    }

    public static async Task<int> StopAsync(string pidFile, bool hammer, TimeSpan timeout, TextWriter output)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var before = await ControlClient.SendAsync(pidFile, ControlProtocol.Status, timeout).ConfigureAwait(false);
        if (before.Result != "ok")
        {
            throw new CommandFailure(ExitCodes.Failed, $"process {before.Pid}: {before.Reason}");
        }

        var pids = new List<int> { before.Pid };
        if (before.Status?.Draining is { } draining)
        {
            pids.Add(draining.Pid);
        }

        var answer = await ControlClient.SendAsync(pidFile, hammer ? ControlProtocol.Hammer : ControlProtocol.Stop, timeout).ConfigureAwait(false);
        if (answer.Result != "stopping")
        {
            throw new CommandFailure(ExitCodes.Failed, $"process {answer.Pid} did not stop: {answer.Reason}");
        }

        // Not our children: their end is seen in /proc. The draining predecessor is waited for too - the service has
        // stopped only when no process of it is left.
        while (pids.Any(ControlClient.IsRunning))
        {
            if (clock.Elapsed > timeout)
            {
                throw new CommandFailure(ExitCodes.Timeout, $"still running after {timeout.TotalSeconds:0.###} s: process(es) {string.Join(", ", pids.Where(ControlClient.IsRunning))} (a drain waits up to Baton:HammerTime; `baton stop --hammer` cuts it short)");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stopped: process {answer.Pid} has exited after {clock.Elapsed.TotalSeconds:0.0} s"));
        return ExitCodes.Ok;
    }

    private static string FormatDuration(TimeSpan span) =>
        span.TotalDays >= 1 ? $"{(int)span.TotalDays}d {span.Hours}h {span.Minutes}m"
        : span.TotalHours >= 1 ? $"{(int)span.TotalHours}h {span.Minutes}m {span.Seconds}s"
        : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes}m {span.Seconds}s"
        : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.0}s");
}
