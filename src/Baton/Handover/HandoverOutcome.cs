namespace Baton.Handover;

/// <summary>How a handover attempt ended.</summary>
internal abstract record HandoverOutcome(TimeSpan Elapsed);

/// <summary>The successor was accepted: it accepts connections now, and this process hands over.</summary>
internal sealed record HandoverSucceeded(ISuccessorProcess Successor, int Generation, TimeSpan Elapsed) : HandoverOutcome(Elapsed)
{
    public int Pid => Successor.Pid;
}

/// <summary>The successor is gone (reaped, or left to <see cref="ChildReaper"/>); this process serves on.</summary>
internal sealed record HandoverFailed(int? Pid, string Reason, TimeSpan Elapsed) : HandoverOutcome(Elapsed);

/// <summary>The successor reported ready and waits for its "go" (an intermediate verdict: see <see cref="SuccessorLauncher.Promote"/>).</summary>
internal sealed record ReadyVerdict(ReadyMessage Message, TimeSpan Elapsed) : HandoverOutcome(Elapsed);
