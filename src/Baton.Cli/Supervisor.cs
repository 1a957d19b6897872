using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Baton.Handover;
using Baton.Interop;

namespace Baton.Cli;

/// <summary>
/// <c>baton run -- COMMAND</c>: a parent whose pid never changes, for containers (as PID 1) and process managers. It
/// starts the app, forwards SIGHUP to whichever worker serves (the app hands over to a new worker by itself), forwards
/// SIGTERM/SIGINT/SIGQUIT the same way and SIGUSR2 to every worker, reaps every worker and every orphan (it is their
/// subreaper), restarts a worker that crashed after it had served, and exits with the worker's status when the app
/// stops on purpose.
/// </summary>
/// <remarks>
/// Workers say when they serve and when they stop on purpose on a pipe every generation inherits
/// (<c>BATON_SUPERVISOR_FD</c>); an app without Baton is still supervised, as its first worker.
/// </remarks>
internal sealed class Supervisor
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(30);

    private readonly string _executable;
    private readonly IReadOnlyList<string> _arguments;
    private readonly IReadOnlyList<string> _environment;
    private readonly TextWriter _log;
    private readonly Lock _gate = new();
    private readonly HashSet<int> _workers = [];
    private readonly HashSet<int> _stoppedOnPurpose = [];
    private readonly SemaphoreSlim _childStarted = new(0);
    private readonly List<PosixSignalRegistration> _signals = [];
    private readonly int _reportRead;
    private readonly int _reportWrite;
    private int _serving;
    private bool _everServed;
    private bool _stopRequested;
    private TimeSpan _backoff = FirstBackoff;

    private Supervisor(string executable, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, TextWriter log)
    {
        _executable = executable;
        _arguments = arguments;
        _environment = environment;
        _log = log;
        (_reportRead, _reportWrite) = Descriptors.CreatePipe();
    }

    public static int Run(string? pidFile, IReadOnlyList<string> command, TextWriter log)
    {
        if (command.Count == 0)
        {
            throw new CommandFailure(ExitCodes.Usage, "baton run needs the command to supervise after --, e.g. baton run -- dotnet App.dll");
        }

        var executable = FindExecutable(command[0]);
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Select(e => (Name: (string)e.Key, Value: (string?)e.Value))
            .Where(e => !HandoverVariables.All.Contains(e.Name) && !HandoverVariables.Optional.Contains(e.Name))
            .Where(e => pidFile is null || e.Name != "Baton__PidFile")
            .Select(e => $"{e.Name}={e.Value}")
            .Append($"{HandoverVariables.Supervisor}={ProcessSpawner.FirstInheritedDescriptor.ToString(CultureInfo.InvariantCulture)}")
            .Concat(pidFile is null ? [] : [$"Baton__PidFile={Path.GetFullPath(pidFile)}"])
            .ToList();

        ChildProcesses.BecomeSubreaper();
        return new Supervisor(executable, command, environment, log).Supervise();
    }

    private int Supervise()
    {
        (PosixSignal Signal, int Number, string Name)[] forwarded =
            [(PosixSignal.SIGHUP, 1, "SIGHUP"), (PosixSignal.SIGINT, 2, "SIGINT"), (PosixSignal.SIGQUIT, 3, "SIGQUIT"), (PosixSignal.SIGTERM, 15, "SIGTERM"), ((PosixSignal)12, 12, "SIGUSR2")];

        // Started with a signal ignored (`nohup baton run ...`, `baton run ... &` in a script), the runtime leaves it
        // ignored and the registration below would never run: a SIGHUP to the supervisor did nothing at all, and no
        // reload happened. The default first, as the library does for the app (SignalRouter).
        var restored = forwarded.Where(s => SignalDispositions.RestoreDefaultIfIgnored(s.Number)).ToList();
        foreach (var (signal, number, name) in forwarded)
        {
            _signals.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                Forward(number, name);
            }));
        }

        foreach (var (_, number, name) in restored)
        {
            if (SignalDispositions.IsUncaught(number))
            {
                // SIGINT/SIGQUIT: the runtime decided before this ran. Ignored it stays, rather than kill the supervisor.
                SignalDispositions.Ignore(number);
                Say($"{name} was ignored when baton run started and cannot be caught now; it stays ignored");
            }
            else
            {
                Say($"{name} was ignored when baton run started (nohup or a background job); baton run restored it and forwards it");
            }
        }

        new Thread(ReadReports) { IsBackground = true, Name = "baton run reports" }.Start();
        StartWorker();
        return ReapUntilDone();
    }

    private void StartWorker()
    {
        var pid = ProcessSpawner.Spawn(new SpawnRequest(_executable, _arguments, _environment, Environment.CurrentDirectory, [_reportWrite]));
        lock (_gate)
        {
            _workers.Add(pid);
            _serving = pid;
        }

        Say($"started worker {pid}: {string.Join(' ', _arguments)}");
        _childStarted.Release();
    }

    /// <summary>Reaps every child and orphan as it ends, and decides, when the serving worker ends, what follows.</summary>
    private int ReapUntilDone()
    {
        int? finalStatus = null;
        while (true)
        {
            if (ChildProcesses.WaitAny() is not var (pid, exit))
            {
                // No child at all: done if the app has stopped, else a restart is on its way.
                if (finalStatus is { } status)
                {
                    Say($"exiting with status {status}");
                    return status;
                }

                _childStarted.Wait(TimeSpan.FromMilliseconds(200));
                continue;
            }

            bool wasServing;
            bool onPurpose;
            bool everServed;
            lock (_gate)
            {
                var wasWorker = _workers.Remove(pid);
                wasServing = pid == _serving;
                onPurpose = _stopRequested || _stoppedOnPurpose.Contains(pid);
                everServed = _everServed;
                if (!wasWorker && !wasServing)
                {
                    continue;
                }
            }

            if (!wasServing)
            {
                Say($"worker {pid} {exit}");
                continue;
            }

            if (onPurpose || !everServed)
            {
                // Stopped on purpose, or the app never got as far as serving (a broken configuration, a missing file):
                // restarting would only hide it. Done once every other process of it has ended too.
                Say(onPurpose ? $"worker {pid} stopped ({exit})" : $"worker {pid} {exit} before it ever served: not restarting it");
                finalStatus = exit.ShellStatus;
                continue;
            }

            Say($"worker {pid} CRASHED ({exit}); restarting it in {_backoff.TotalSeconds:0.#} s");
            var delay = _backoff;
            _backoff = _backoff * 2 > LongestBackoff ? LongestBackoff : _backoff * 2;
            _ = Task.Run(async () =>
            {
                await Task.Delay(delay).ConfigureAwait(false);
                bool start;
                lock (_gate)
                {
                    // A successor of the crashed worker may have started serving meanwhile; a stop may have come.
                    start = _serving == pid && !_stopRequested;
                }

                if (start)
                {
                    StartWorker();
                }
            });
        }
    }

    private void Forward(int signal, string name)
    {
        int[] targets;
        lock (_gate)
        {
            if (name is "SIGTERM" or "SIGINT" or "SIGQUIT")
            {
                _stopRequested = true;
            }

            targets = name == "SIGUSR2" ? [.. _workers] : [_serving];
        }

        foreach (var pid in targets)
        {
            Say($"{name} forwarded to worker {pid}");
            _ = ChildProcesses.Signal(pid, signal);
        }
    }

    /// <summary>"serving PID GENERATION" and "stopping PID" lines from the workers.</summary>
    private void ReadReports()
    {
        var reader = new LineReader(_reportRead);
        while (true)
        {
            var read = reader.Read(TimeSpan.FromSeconds(60));
            if (read.IsEndOfFile)
            {
                return;
            }

            if (read.Line?.Split(' ') is not { } parts || parts.Length < 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            lock (_gate)
            {
                switch (parts[0])
                {
                    case "serving":
                        _serving = pid;
                        _everServed = true;
                        _workers.Add(pid);
                        _backoff = FirstBackoff;
                        break;
                    case "stopping":
                        _stoppedOnPurpose.Add(pid);
                        break;
                }
            }

            if (parts[0] == "serving")
            {
                Say($"worker {pid} serves (generation {(parts.Length > 2 ? parts[2] : "?")})");
            }
        }
    }

    private void Say(string message)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"baton run[{Environment.ProcessId}]: {message}");
        lock (_log)
        {
            _log.WriteLine(line);
            _log.Flush();
        }
    }

    private static string FindExecutable(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(name) ? Path.GetFullPath(name) : throw new CommandFailure(ExitCodes.Usage, $"no such program: {name}");
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new CommandFailure(ExitCodes.Usage, $"{name} is not on PATH");
    }
}
