using Baton.Handover;
using Baton.Interop;

namespace Baton.Hosting;

/// <summary>
/// This process's place in the chain of generations, found out once in <c>UseBaton()</c>: how it was started (so a
/// successor is started the same way), what it inherited, and - in a successor - its side of the handover.
/// </summary>
internal sealed class BatonProcess(
    SuccessorCommand command, StandardStreams streams, InheritedState? inherited, int? controlDescriptor = null, int? supervisorDescriptor = null, int? restoreNice = null, bool standby = false, bool leaveIdle = false)
{
    /// <summary>A successor started as a standby (Baton:Standby), ahead of any SIGHUP: it writes the pid file only at "go".</summary>
    public bool IsStandby { get; } = inherited is not null && standby;

    /// <summary>A successor started with a raised nice value (Baton:SuccessorNice): the value to take back at "go".</summary>
    public int? RestoreNice { get; } = inherited is null ? null : restoreNice;

    /// <summary>Started under SCHED_IDLE too (Baton:StandbyIdle): it takes SCHED_OTHER back with <see cref="RestoreNice"/>.</summary>
    public bool LeaveIdle { get; } = inherited is not null && restoreNice is not null && leaveIdle;

    /// <summary>The control socket a predecessor handed over; null when none.</summary>
    public int? ControlDescriptor { get; } = controlDescriptor;

    /// <summary>Null when no <c>baton run</c> supervisor started this lineage.</summary>
    public Control.SupervisorLink? Supervisor { get; } = supervisorDescriptor is { } fd ? new Control.SupervisorLink(fd) : null;

    public SuccessorCommand Command { get; } = command;

    public StandardStreams Streams { get; } = streams;

    public InheritedState? Inherited { get; } = inherited;

    /// <summary>Null in the first generation.</summary>
    public SuccessorSide? Successor { get; } = inherited is null ? null : new SuccessorSide(inherited);

    public int Generation => Inherited?.Generation ?? 1;
}
