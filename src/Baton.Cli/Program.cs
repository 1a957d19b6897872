using System.CommandLine;
using Baton.Cli;

// baton: confirmed reloads, status, graceful stop, and a stable-PID supervisor for servers on Baton.
var pidFile = new Option<string>("--pid-file") { Description = "The server's pid file (Baton:PidFile); its control socket is beside it (FILE.sock).", Required = true };
var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for the outcome.", DefaultValueFactory = _ => 60 };

var reload = new Command("reload", "Restart the server without dropping a connection, and wait for the outcome: exit 0 and the new pid once the new process serves; non-zero, with the reason, when it failed (the old process serves on) or was deferred or refused.")
{
    pidFile, timeout,
};
reload.SetAction((result, cancel) => Guard(() => Commands.ReloadAsync(result.GetValue(pidFile)!, TimeSpan.FromSeconds(result.GetValue(timeout)), Console.Out)));

var json = new Option<bool>("--json") { Description = "Print the status as one JSON object." };
var status = new Command("status", "Print the serving process's pid, generation, uptime, listen addresses, connections, any process still draining, and the last reload.")
{
    pidFile, json,
};
status.SetAction((result, cancel) => Guard(() => Commands.StatusAsync(result.GetValue(pidFile)!, result.GetValue(json), Console.Out)));

var hammer = new Option<bool>("--hammer") { Description = "Close every connection now instead of letting requests finish." };
var stop = new Command("stop", "Stop the server gracefully (or at once with --hammer) and wait until it has exited.")
{
    pidFile, hammer, timeout,
};
stop.SetAction((result, cancel) => Guard(() => Commands.StopAsync(result.GetValue(pidFile)!, result.GetValue(hammer), TimeSpan.FromSeconds(result.GetValue(timeout)), Console.Out)));

var runPidFile = new Option<string?>("--pid-file") { Description = "Passed to the app as Baton:PidFile, so baton reload/status/stop reach it." };
var commandLine = new Argument<string[]>("command") { Description = "The app to supervise and its arguments, after --.", Arity = ArgumentArity.OneOrMore };
var run = new Command("run", "Supervise the app with a pid that never changes (a container's PID 1, a process manager's main pid): forwards SIGHUP, SIGTERM, SIGINT, SIGQUIT to the serving worker and SIGUSR2 to every worker, reaps every process, restarts a worker that crashed after it served, and exits with the app's status when it stops.")
{
    runPidFile, commandLine,
};
run.SetAction(result => Guard(() => Task.FromResult(Supervisor.Run(result.GetValue(runPidFile), result.GetValue(commandLine) ?? [], Console.Error))).GetAwaiter().GetResult());

var root = new RootCommand($"Zero-downtime restarts for ASP.NET Core servers on Baton. {ExitCodes.Help}")
{
    reload, status, stop, run,
};

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine("baton: " + error.Message);
    }

    return ExitCodes.Usage;
}

return await parsed.InvokeAsync();

static async Task<int> Guard(Func<Task<int>> command)
{
    try
    {
        return await command();
    }
    catch (CommandFailure failure)
    {
        Console.Error.WriteLine("baton: " + failure.Message);
        return failure.ExitCode;
    }
}
