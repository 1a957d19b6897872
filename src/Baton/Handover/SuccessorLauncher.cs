using Baton.Interop;

namespace Baton.Handover;

/// <summary>
/// Starts one successor and waits for its verdict: "ready" on the channel, or its failure (a "failed" line, the channel
/// closing because it died, or no word before the ready timeout, after which it is killed). A ready successor is
/// answered "go" and handed to the caller; every other one is killed if need be and reaped, so no zombie is left.
/// </summary>
/// <remarks>
/// The successor accepts connections only once it has the "go", so one that is refused - for being late, for a
/// ready that came with the cancellation - has taken no connection that its death would drop.
/// </remarks>
internal sealed class SuccessorLauncher(IProcessLauncher launcher, TimeProvider time)
{
    // How long one wait on the channel lasts: the longest a cancellation (SIGTERM, SIGUSR2) waits to be noticed.
    private static readonly TimeSpan PollSlice = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(5);

    public Action<int>? Started { get; set; }

    /// <summary>Called with the successor's pid after its ready was accepted, before it is told "go".</summary>
    public Action<int>? Accepting { get; set; }

    /// <summary>This process's open connections, told to the successor with the "go".</summary>
    public Func<int>? OpenConnections { get; set; }

    private string? _launchFailure;

    public void RequestStop(int pid) => launcher.RequestStop(pid);

    public HandoverOutcome Run(IReadOnlyList<InheritedListener> listeners, int generation, TimeSpan readyTimeout, CancellationToken cancel)
    {
        var start = time.GetTimestamp();
        if (Launch(listeners, generation, standby: false) is not { } child)
        {
            return new HandoverFailed(null, "the new process could not be started: " + _launchFailure, time.GetElapsedTime(start));
        }

        Started?.Invoke(child.Pid);
        return Guarded(child, start, () => AwaitReady(child, start, readyTimeout, cancel) is var verdict && verdict is ReadyVerdict ready
            ? Accept(child, ready.Message, start, cancel)
            : (HandoverFailed)verdict);
    }

    /// <summary>Starts a successor (a standby: one that will wait for its "go" as long as it takes); null when it could not be started.</summary>
    public ISuccessorProcess? Launch(IReadOnlyList<InheritedListener> listeners, int generation, bool standby)
    {
        try
        {
            return launcher.Start(listeners, generation, standby);
        }
        catch (Exception ex)
        {
            _launchFailure = ex.Message;
            return null;
        }
    }

    /// <summary>Why the last <see cref="Launch"/> that returned null failed.</summary>
    public string LaunchFailure => _launchFailure ?? "unknown";

    /// <summary>
    /// Waits for a started successor's "ready" (then it waits for its "go": <see cref="Promote"/>)
    /// or its failure, after which it is killed if need be, reaped and disposed.
    /// </summary>
    public HandoverOutcome AwaitReady(ISuccessorProcess child, long start, TimeSpan readyTimeout, CancellationToken cancel) =>
        Guarded(child, start, () => AwaitVerdict(child, start, readyTimeout, cancel));

    /// <summary>
    /// Answers "go" to a successor that reported ready (at once, or after standing by): it accepts connections from
    /// now on. On failure it is reaped and disposed.
    /// </summary>
    public HandoverOutcome Promote(ISuccessorProcess child, ReadyMessage ready, long start, CancellationToken cancel) =>
        Guarded(child, start, () => Accept(child, ready, start, cancel));

    /// <summary>
    /// Whatever breaks (a failed read of the channel, a logger that throws, memory), the old process must come out of it
    /// serving and able to try again: the child goes, the state goes back.
    /// </summary>
    private HandoverOutcome Guarded(ISuccessorProcess child, long start, Func<HandoverOutcome> step)
    {
        HandoverOutcome outcome;
        try
        {
            outcome = step();
        }
        catch (Exception ex)
        {
            var exit = KillAndReap(child);
            outcome = new HandoverFailed(child.Pid, $"waiting for new process {child.Pid} failed ({ex.GetType().Name}: {ex.Message}); it was killed ({exit})", time.GetElapsedTime(start));
        }

        if (outcome is HandoverFailed)
        {
            child.Dispose();
        }

        return outcome;
    }

    /// <summary>
    /// Stops a successor that was never told "go" (a standby no longer wanted): SIGTERM, which it answers by stopping
    /// without ever accepting, then SIGKILL after the grace period; reaped either way. Its channel is closed only once it
    /// is gone: a successor that sees end of file before "go" takes its predecessor for dead, and serves.
    /// </summary>
    public string StopAndReap(ISuccessorProcess child)
    {
        try
        {
            launcher.RequestStop(child.Pid);
            var start = time.GetTimestamp();
            while (time.GetElapsedTime(start) < ExitGrace)
            {
                if (child.TryReap() is { } exit)
                {
                    return exit.ToString();
                }

                Thread.Sleep(10);
            }

            return "it did not stop within " + ExitGrace.TotalSeconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture) + " s of SIGTERM; killed (" + KillAndReap(child) + ")";
        }
        finally
        {
            child.Dispose();
        }
    }

    private HandoverOutcome AwaitVerdict(ISuccessorProcess child, long start, TimeSpan readyTimeout, CancellationToken cancel)
    {
        while (true)
        {
            if (cancel.IsCancellationRequested)
            {
                return Failed(child, start, $"the handover was abandoned; new process {child.Pid} was killed ({KillAndReap(child)})");
            }

            // At the deadline the channel is read one last time without waiting: a ready that is already there is
            // honoured, rather than killing a process that made it.
            var remaining = readyTimeout - time.GetElapsedTime(start);
            var lastLook = remaining <= TimeSpan.Zero;
            var read = child.Read(lastLook ? TimeSpan.Zero : remaining < PollSlice ? remaining : PollSlice);
            if (read.IsEndOfFile)
            {
                return Failed(child, start, $"new process {child.Pid} {AwaitExit(child)} before it was ready{LastWords(child)}");
            }

            if (read.Line is { } line)
            {
                switch (HandshakeMessage.Parse(line))
                {
                    case ReadyMessage ready when ready.Pid == child.Pid:
                        return new ReadyVerdict(ready, time.GetElapsedTime(start));
                    case ReadyMessage ready:
                        return Failed(child, start, $"new process {child.Pid} reported ready as pid {ready.Pid}; it was killed ({KillAndReap(child)})");
                    case FailedMessage failed:
                        return Failed(child, start, $"new process {child.Pid} failed to start: {failed.Reason} (it {AwaitExit(child)})");
                }

                continue;
            }

            if (lastLook)
            {
                return Failed(child, start, $"new process {child.Pid} was not ready within {readyTimeout.TotalSeconds:0.###} s; it was killed ({KillAndReap(child)}){LastWords(child)}");
            }
        }
    }

    private HandoverOutcome Accept(ISuccessorProcess child, ReadyMessage ready, long start, CancellationToken cancel)
    {
        if (cancel.IsCancellationRequested)
        {
            return Failed(child, start, $"the handover was abandoned as new process {child.Pid} reported ready; it was killed ({KillAndReap(child)})");
        }

        Accepting?.Invoke(child.Pid);
        if (!child.Accept(OpenConnections?.Invoke() ?? 0))
        {
            return Failed(child, start, $"new process {child.Pid} reported ready, then could not be told to go on: it {AwaitExit(child)}{LastWords(child)}");
        }

        return new HandoverSucceeded(child, ready.Generation, time.GetElapsedTime(start));
    }

    internal string ReapIfGone(ISuccessorProcess child) => child.TryReap()?.ToString() ?? AwaitExit(child);

    private HandoverFailed Failed(ISuccessorProcess child, long start, string reason) => new(child.Pid, reason, time.GetElapsedTime(start));

    private static string LastWords(ISuccessorProcess child) => child.LastWords() is { } words ? ": " + words : string.Empty;

    private string AwaitExit(ISuccessorProcess child)
    {
        var start = time.GetTimestamp();
        while (time.GetElapsedTime(start) < ExitGrace)
        {
            if (child.TryReap() is { } exit)
            {
                return exit.ToString();
            }

            Thread.Sleep(10);
        }

        return KillAndReap(child);
    }

    /// <summary>Kills and reaps the child; one that will not be reaped within the grace period is left to <see cref="ChildReaper"/>.</summary>
    private string KillAndReap(ISuccessorProcess child)
    {
        child.Kill();
        var start = time.GetTimestamp();
        while (time.GetElapsedTime(start) < ExitGrace)
        {
            if (child.TryReap() is { } exit)
            {
                return exit.ToString();
            }

            Thread.Sleep(10);
        }

        ChildReaper.KeepTrying(child);
        return $"not reaped within {ExitGrace.TotalSeconds:0} s of SIGKILL; still trying";
    }
}
