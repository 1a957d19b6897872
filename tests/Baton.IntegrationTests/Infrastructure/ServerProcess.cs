using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Baton.IntegrationTests.Infrastructure;

/// <summary>
/// A sample app started as a real process from a private copy of its build output (so a test may break its
/// appsettings.json), listening on 127.0.0.1 on a port the kernel picks. Every pid of every generation seen in the
/// log is tracked, and disposal kills whatever of them is still alive, in every outcome.
/// </summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(30);

    private readonly Process _root;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _errorLines = new();
    private readonly ConcurrentDictionary<int, byte> _pids = new();

    // SIGHUPs this test sent, per pid. A signal is handled on a runtime thread and its log line is written by the
    // console logger's own thread: a process may look settled in the log while a SIGHUP it got is still on its way to
    // becoming a handover. Settled therefore also means every SIGHUP sent has been answered in the log.
    private readonly ConcurrentDictionary<int, int> _sighupsSent = new();
    private readonly SemaphoreSlim _newLine = new(0);
    private bool _trackLoggedPids = true;

    private ServerProcess(Process root, string workDirectory)
    {
        _root = root;
        WorkDirectory = workDirectory;
        FirstServingPid = root.Id;
        _pids.TryAdd(root.Id, 0);
    }

    public string WorkDirectory { get; }

    public string PidFile => Path.Combine(WorkDirectory, "app.pid");

    public int RootPid => _root.Id;

    /// <summary>The first process that served: the root, unless the app runs under a launcher (then its first worker).</summary>
    public int FirstServingPid { get; private set; }

    public Uri BaseAddress { get; private set; } = null!;

    public int Port => BaseAddress.Port;

    public IReadOnlyCollection<int> KnownPids => _pids.Keys.ToList();

    public string Log => string.Join('\n', _lines);

    /// <summary>What arrived on standard error only (also in <see cref="Log"/>, with standard output).</summary>
    public IReadOnlyList<string> StandardErrorLines => [.. _errorLines];

    public Process Root => _root;

    /// <summary>Starts the app and waits until it serves.</summary>
    /// <param name="app">The sample to run.</param>
    /// <param name="extraArguments">Appended to the command line.</param>
    /// <param name="shellPrefix">Shell commands run before exec'ing the app (to ignore signals or leak a descriptor).</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <param name="waitUntilServing">Returns only once the app serves.</param>
    /// <param name="prepare">Run with the work directory (the app's copy) before the app starts, e.g. a setup command.</param>
    /// <param name="shell">The shell that runs <paramref name="shellPrefix"/> (bash takes descriptor numbers above 9).</param>
    /// <param name="duringStart">Called right before the process is started, disposed right after (a descriptor it is to inherit).</param>
    /// <param name="parentNamed">
    /// Runs the app as the child of a shell whose process name is this (a copy of /bin/sh under that name), instead of
    /// exec'ing it: "systemd" is what Microsoft.Extensions.Hosting.Systemd looks for in the parent. The root process is
    /// then the shell, <see cref="FirstServingPid"/> the app.
    /// </param>
    public static async Task<ServerProcess> StartAsync(
        SampleApp app,
        IEnumerable<string>? extraArguments = null,
        string? shellPrefix = null,
        IReadOnlyDictionary<string, string>? environment = null,
        bool waitUntilServing = true,
        Func<string, Task>? prepare = null,
        IReadOnlyList<string>? launcher = null,
        bool trackLoggedPids = true,
        string shell = "/bin/sh",
        Func<IDisposable>? duringStart = null,
        string? parentNamed = null)
    {
        var workDirectory = Directory.CreateTempSubdirectory("baton-test-").FullName;
        CopyDirectory(app.Directory, workDirectory);
        if (prepare is not null)
        {
            try
            {
                await prepare(workDirectory);
            }
            catch
            {
                Directory.Delete(workDirectory, recursive: true);
                throw;
            }
        }

        var arguments = new List<string>();
        if (!app.IsNative)
        {
            arguments.Add(app.FileName);
        }

        arguments.AddRange(
        [
            "--urls", "http://127.0.0.1:0",
            "--Baton:PidFile=" + Path.Combine(workDirectory, "app.pid"),
            "--Logging:Console:FormatterName=simple",
            "--Logging:Console:FormatterOptions:SingleLine=true",
        ]);
        arguments.AddRange(extraArguments ?? []);
        var program = app.IsNative ? Path.Combine(workDirectory, app.FileName) : "dotnet";
        if (launcher is { Count: > 0 })
        {
            // The app runs under another program (`baton run --`, `unshare ...`): that one is the root process.
            arguments = [.. launcher.Skip(1), program, .. arguments];
            program = launcher[0];
        }

        var start = new ProcessStartInfo
        {
            WorkingDirectory = workDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        if (parentNamed is not null)
        {
            // The shell waits for the app (a command that is not the last one is not exec'd) and exits with its status.
            var parent = Path.Combine(workDirectory, ".parent", parentNamed);
            Directory.CreateDirectory(Path.GetDirectoryName(parent)!);
            File.Copy("/bin/sh", parent);
            start.FileName = parent;
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"{shellPrefix ?? ":"}; \"$0\" \"$@\"; exit $?");
            start.ArgumentList.Add(program);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
        }
        else if (shellPrefix is null)
        {
            start.FileName = program;
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start.FileName = shell;
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"{shellPrefix}; exec \"$0\" \"$@\"");
            start.ArgumentList.Add(program);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        Process root;
        using (duringStart?.Invoke())
        {
            root = Process.Start(start) ?? throw new InvalidOperationException("Process.Start returned null");
        }

        // Pids logged inside a new pid namespace are not this machine's: tracking (and at the end killing) them would hit
        // unrelated processes. Then only the root is tracked, and killing it ends the namespace.
        var server = new ServerProcess(root, workDirectory) { _trackLoggedPids = trackLoggedPids };
        root.OutputDataReceived += (_, e) => server.OnLine(e.Data, standardError: false);
        root.ErrorDataReceived += (_, e) => server.OnLine(e.Data, standardError: true);
        root.BeginOutputReadLine();
        root.BeginErrorReadLine();
        if (waitUntilServing)
        {
            try
            {
                var listening = await server.WaitForLineAsync(l => ListeningRegex().IsMatch(l), DefaultWait);
                server.BaseAddress = new Uri(ListeningRegex().Match(listening).Groups[1].Value);
                var runsUnderAnother = launcher is not null || parentNamed is not null;
                var actual = await server.WaitForLineAsync(
                    l => runsUnderAnother ? ActualPidRegex().IsMatch(l) : l.Contains("Actual pid is " + root.Id.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal),
                    DefaultWait);
                server.FirstServingPid = int.Parse(ActualPidRegex().Match(actual).Groups[1].Value, CultureInfo.InvariantCulture);

                // Then the control socket and the pid file exist: the pid file comes last.
                await server.WaitForLineAsync(l => l.Contains($"Process {server.FirstServingPid} wrote pid file", StringComparison.Ordinal), DefaultWait);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        return server;
    }

    /// <summary>
    /// Sends a signal. A SIGHUP waits until the last one sent to that process has been delivered: one sent while an
    /// earlier one is still pending would merge into it, and then be counted but never answered.
    /// </summary>
    public void Signal(int pid, int signal)
    {
        if (signal == Posix.SIGHUP)
        {
            Posix.WaitUntilNotPending(pid, signal);
        }

        Posix.Kill(pid, signal);
        CountSent(pid, signal);
    }

    /// <summary>Sends a signal (as <see cref="Signal"/>) to a pid that may have exited already; true if it was delivered.</summary>
    public bool TrySignal(int pid, int signal)
    {
        if (signal == Posix.SIGHUP)
        {
            Posix.WaitUntilNotPending(pid, signal);
        }

        if (!Posix.TryKill(pid, signal))
        {
            return false;
        }

        CountSent(pid, signal);
        return true;
    }

    private void CountSent(int pid, int signal)
    {
        if (signal == Posix.SIGHUP)
        {
            _sighupsSent.AddOrUpdate(pid, 1, (_, n) => n + 1);
        }
    }

    /// <summary>SIGHUPs sent to a still living process that it has not yet answered in the log (received, deferred or ignored).</summary>
    private int UnansweredSighups(string[] lines) => _sighupsSent
        .Where(sent => Posix.IsAlive(sent.Key))
        .Sum(sent => Math.Max(0, sent.Value - lines.Count(l =>
            l.Contains($"SIGHUP received by process {sent.Key}:", StringComparison.Ordinal)
            || l.Contains($"SIGHUP deferred by process {sent.Key}:", StringComparison.Ordinal)
            || l.Contains($"SIGHUP ignored by process {sent.Key}:", StringComparison.Ordinal))));

    public int ReadPidFile() => int.Parse(File.ReadAllText(PidFile).Trim(), CultureInfo.InvariantCulture);

    /// <summary>
    /// The line that says how a process's drain ended. Wait for it rather than look for it once the process has exited:
    /// the exit can be seen before the process's last lines have been read from its output.
    /// </summary>
    public Task<string> DrainEndedAsync(int pid) =>
        WaitForLineAsync(l => l.Contains($"Process {pid} drain ended:", StringComparison.Ordinal));

    /// <summary>Waits for a log line (already seen or still to come) that matches.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null, int skip = 0)
    {
        using var deadline = new CancellationTokenSource(timeout ?? DefaultWait);
        while (true)
        {
            var found = _lines.Where(match).Skip(skip).FirstOrDefault();
            if (found is not null)
            {
                return found;
            }

            try
            {
                await _newLine.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No log line matched within {(timeout ?? DefaultWait).TotalSeconds} s. Log so far:\n{Log}");
            }
        }
    }

    public int CountLines(Func<string, bool> match) => _lines.Count(match);

    /// <summary>
    /// The address the first generation reported for <paramref name="scheme"/> on 127.0.0.1 ("Now listening on"): the
    /// port the kernel picked for an endpoint asked for with port 0. Later generations inherit that socket.
    /// </summary>
    public async Task<Uri> ListeningAddressAsync(string scheme)
    {
        var prefix = $"Now listening on: {scheme}://127.0.0.1:";
        var line = await WaitForLineAsync(l => l.Contains(prefix, StringComparison.Ordinal));
        return new Uri(line[line.IndexOf(prefix, StringComparison.Ordinal)..]["Now listening on: ".Length..].Trim());
    }

    /// <summary>
    /// Waits until every handover that was started has ended (ready or failed), every process that handed over has
    /// exited, every SIGHUP sent through <see cref="Signal"/> or <see cref="TrySignal"/> has been answered in the log,
    /// and every SIGHUP a process deferred (while its predecessor drained) has been carried out, or its process is gone;
    /// returns the number of successful handovers.
    /// </summary>
    public async Task<int> WaitUntilSettledAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultWait);
        while (true)
        {
            // Every count from one copy of the log, taken before the processes are looked at: lines keep arriving, and
            // counts taken from the live log at different moments once mixed the log before a deferred restart started
            // (no new process yet) with the log after it (nothing deferred any more), and looked settled.
            var lines = _lines.ToArray();
            int Count(string text) => lines.Count(l => l.Contains(text, StringComparison.Ordinal));
            var started = Count("starting a new process");
            var ready = Count("ready after");
            var failed = Count("HANDOVER FAILED");
            var exited = Count(" exiting");
            var alive = AlivePids();
            var deferredPending = lines.Select(l => DeferredRegex().Match(l)).Where(m => m.Success)
                .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct()
                .Count(pid => alive.Contains(pid) && Count($"process {pid} starts the deferred restart") == 0);
            var unanswered = UnansweredSighups(lines);
            if (started == ready + failed && exited == ready && alive.Count == 1 && deferredPending == 0 && unanswered == 0)
            {
                SettledAs = $"settled after {lines.Length} lines: {started} started, {ready} ready, {failed} failed, {exited} exited, alive {alive[0]}";
                return ready;
            }

            if (DateTime.UtcNow > deadline)
            {
                var root = _root.HasExited ? $"exit code {_root.ExitCode}" : "running";
                throw new TimeoutException($"Not settled: {started} started, {ready} ready, {failed} failed, {exited} exited, {deferredPending} deferred, {unanswered} SIGHUP(s) unanswered, alive {string.Join(",", alive)}, first process {root}. Log:\n{Log}");
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            try
            {
                await _newLine.WaitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                // Re-check: a process may have exited without a new line.
            }
        }
    }

    /// <summary>
    /// Sends SIGHUP to the serving process and waits until a new one (generation n+1) serves and the old one no longer
    /// accepts, so that every new connection from here on reaches the new one; returns its pid.
    /// </summary>
    public async Task<int> RestartAsync(int servingPid)
    {
        var before = CountLines(l => l.Contains("ready after", StringComparison.Ordinal) && l.Contains($"process {servingPid} hands over", StringComparison.Ordinal));
        Signal(servingPid, Posix.SIGHUP);
        var line = await WaitForLineAsync(
            l => l.Contains("ready after", StringComparison.Ordinal) && l.Contains($"process {servingPid} hands over", StringComparison.Ordinal),
            skip: before);

        // "ready after" is logged just before the old process stops accepting: until then a new connection can still
        // land there (a download meant for the new process once did, and finished in the old one's drain).
        await WaitForLineAsync(l => l.Contains($"Process {servingPid} stopped accepting", StringComparison.Ordinal));
        return int.Parse(ReadyRegex().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until a process has started a successor (the next one after <paramref name="skip"/>); returns its pid.</summary>
    public async Task<int> WaitForSuccessorStartedAsync(int skip = 0)
    {
        var line = await WaitForLineAsync(l => l.Contains(" started by process ", StringComparison.Ordinal), skip: skip);
        return int.Parse(StartedRegex().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Asserts that a new connection is answered by <paramref name="pid"/>, and that it is the only server process (beside
    /// <paramref name="alsoAlive"/>, a standby that serves nothing).
    /// </summary>
    public async Task AssertOnlyServerAsync(int pid, int? alsoAlive = null)
    {
        var (status, body, _) = await new MiniHttpClient(BaseAddress).GetAsync("/", closeAfter: true, CancellationToken.None);
        Xunit.Assert.Equal(200, status);
        Xunit.Assert.Contains($"\"pid\":{pid}", body, StringComparison.Ordinal);
        Xunit.Assert.Equal(alsoAlive is { } other ? new[] { pid, other }.Order() : [pid], AlivePids().Order());
    }

    /// <summary>Waits for the root process (the one this class started) to exit; returns its exit code.</summary>
    public async Task<int> WaitForRootExitAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        await _root.WaitForExitAsync(deadline.Token);
        return _root.ExitCode;
    }

    public async Task WaitForExitAsync(int pid, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (Posix.IsAlive(pid))
        {
            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException($"Process {pid} still alive after {timeout.TotalSeconds} s. Log:\n{Log}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Makes samples/Hello's next start (a successor's) take <paramref name="milliseconds"/> before it builds its host
    /// (Hello:StartDelayMilliseconds): a slow migration, a stuck dependency.
    /// </summary>
    public async Task DelayNextStartAsync(int milliseconds)
    {
        var settings = Path.Combine(WorkDirectory, "appsettings.json");
        var text = await File.ReadAllTextAsync(settings);
        var delayed = text.Replace("\"Baton\": {", $"\"Hello\": {{ \"StartDelayMilliseconds\": {milliseconds} }},\n  \"Baton\": {{", StringComparison.Ordinal);
        Xunit.Assert.NotEqual(text, delayed);
        await File.WriteAllTextAsync(settings, delayed);
    }

    /// <summary>What <see cref="WaitUntilSettledAsync"/> saw when it last returned, for failure messages.</summary>
    public string SettledAs { get; private set; } = "never settled";

    public IReadOnlyList<int> AlivePids() => _pids.Keys.Where(Posix.IsAlive).ToList();

    public async ValueTask DisposeAsync()
    {
        foreach (var pid in _pids.Keys)
        {
            if (Posix.IsAlive(pid))
            {
                try
                {
                    Posix.Kill(pid, Posix.SIGKILL);
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }
            }
        }

        // Then every other process of this server, also one the log has not named yet: a successor started as the test
        // ended serves on once its parent is killed (it takes the listeners over), and once outlived its test this way.
        // Each carries this test's own pid file path on its command line, and nothing else does.
        for (var pass = 0; pass < 5; pass++)
        {
            var left = ProcessesNaming(PidFile);
            if (left.Count == 0)
            {
                break;
            }

            foreach (var pid in left)
            {
                Posix.TryKill(pid, Posix.SIGKILL);
            }

            await Task.Delay(50);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _root.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }

        _root.Dispose();
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Live processes (not zombies) whose command line contains <paramref name="text"/>.</summary>
    private static List<int> ProcessesNaming(string text)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(directory, "cmdline")).Contains(text, StringComparison.Ordinal) && Posix.IsAlive(pid))
                {
                    found.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }

        return found;
    }

    private void OnLine(string? line, bool standardError)
    {
        if (line is null)
        {
            return;
        }

        if (standardError)
        {
            _errorLines.Enqueue(line);
        }

        if (_trackLoggedPids)
        {
            foreach (Match match in PidRegex().Matches(line))
            {
                _pids.TryAdd(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), 0);
            }
        }

        _lines.Enqueue(line);
        _newLine.Release();
        if (Environment.GetEnvironmentVariable("BATON_TEST_ECHO") == "1")
        {
            Console.WriteLine(line);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.StartsWith("data", StringComparison.Ordinal) || relative.EndsWith(".dbg", StringComparison.Ordinal))
            {
                continue;
            }

            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [GeneratedRegex(@"Now listening on: (https?://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningRegex();

    [GeneratedRegex(@"New process (\d+) \(generation \d+\) ready after")]
    private static partial Regex ReadyRegex();

    [GeneratedRegex(@"SIGHUP deferred by process (\d+)")]
    private static partial Regex DeferredRegex();

    [GeneratedRegex(@"New process (\d+) started by process")]
    private static partial Regex StartedRegex();

    [GeneratedRegex(@"Actual pid is (\d+)")]
    private static partial Regex ActualPidRegex();

    [GeneratedRegex(@"(?:Actual pid is|New process|Process|worker|[Ss]tandby process) (\d+)")]
    private static partial Regex PidRegex();
}
