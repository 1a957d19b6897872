namespace Baton.Handover;

/// <summary>What became of one restart request (a SIGHUP, or <c>baton reload</c>).</summary>
internal abstract record RestartResult;

/// <summary>The successor serves.</summary>
internal sealed record RestartSucceeded(int Pid, int Generation, TimeSpan Elapsed) : RestartResult;

/// <summary>The successor failed; this process serves on.</summary>
internal sealed record RestartFailed(string Reason, TimeSpan Elapsed) : RestartResult;

/// <summary>The process this one took over from still drains; the restart starts once it has exited.</summary>
internal sealed record RestartDeferred(int PredecessorPid, int? PredecessorConnections) : RestartResult;

/// <summary>Not now: the process is not serving (starting, handing over, draining).</summary>
internal sealed record RestartRefused(BatonState State) : RestartResult;
