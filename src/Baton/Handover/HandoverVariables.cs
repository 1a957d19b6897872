namespace Baton.Handover;

/// <summary>
/// The names of the environment variables a process hands its successor (what they hold: <c>HandoverEnvironment</c>,
/// which writes and reads them). Names only, so that the baton command, which builds this file in, knows them too.
/// </summary>
internal static class HandoverVariables
{
    /// <summary>"3=tcp:127.0.0.1:8000;4=unix:/run/app.sock": each inherited listener and the endpoint it is bound to.</summary>
    public const string Listeners = "BATON_LISTEN_FDS";

    /// <summary>The successor's end of the two-way channel with its parent (see HandshakeMessage).</summary>
    public const string Channel = "BATON_CHANNEL_FD";

    /// <summary>The successor's generation: 1 for the first process.</summary>
    public const string Generation = "BATON_GENERATION";

    /// <summary>The pid of the process that started this one.</summary>
    public const string Parent = "BATON_PARENT_PID";

    /// <summary>
    /// The real standard error, for the successor to write to once it is accepted. Until then its standard error is a
    /// pipe through the parent, which passes it on and keeps the tail, so that a successor that dies before it can say
    /// why (a broken appsettings.json throws before any Baton code runs) still has its exception in the parent's log.
    /// </summary>
    public const string StandardError = "BATON_STDERR_FD";

    /// <summary>
    /// The read end of that pipe. The successor keeps relaying it once the parent is gone, for the processes it
    /// started before it was ready, which still write into the pipe.
    /// </summary>
    public const string StandardErrorRelay = "BATON_STDERR_RELAY_FD";

    /// <summary>The listening socket of the control channel (see <c>Control.ControlServer</c>), when there is one.</summary>
    public const string Control = "BATON_CONTROL_FD";

    /// <summary>
    /// Where each generation says it serves or stops for good, for a <c>baton run</c> supervisor: set by the supervisor for
    /// the first generation, handed on to every successor.
    /// </summary>
    public const string Supervisor = "BATON_SUPERVISOR_FD";

    /// <summary>
    /// "3,5": the listeners among <see cref="Listeners"/> that the service manager passed to the first generation
    /// (socket activation), in the successor's numbering; it holds them too, so no generation removes their files.
    /// </summary>
    public const string Activated = "BATON_ACTIVATED_FDS";

    /// <summary>
    /// CLOCK_MONOTONIC microseconds at which the parent spawned this process: the start of the successor's start-up
    /// timeline (see <c>StartupTimeline</c>). Informational; a bad value is ignored.
    /// </summary>
    public const string SpawnedAt = "BATON_SPAWNED_AT_US";

    /// <summary>
    /// The nice value a successor started with a raised one (Baton:SuccessorNice) takes back once it is accepted: its
    /// parent's.
    /// </summary>
    public const string RestoreNice = "BATON_RESTORE_NICE";

    /// <summary>
    /// "1" when a successor was also started under SCHED_IDLE (Baton:StandbyIdle): with its nice value, it takes
    /// SCHED_OTHER back, its parent's policy.
    /// </summary>
    public const string LeaveIdle = "BATON_LEAVE_SCHED_IDLE";

    /// <summary>
    /// "1" for a standby (Baton:Standby): a successor started ahead of any SIGHUP, which waits for its "go" as long as
    /// it takes and writes the pid file only then.
    /// </summary>
    public const string Standby = "BATON_STANDBY";

    /// <summary>Set for every successor; all or none.</summary>
    public static readonly IReadOnlyList<string> All = [Listeners, Channel, Generation, Parent, StandardError, StandardErrorRelay];

    /// <summary>
    /// Set when there is something to pass: a successor's control socket and socket-activated listeners; a supervisor's
    /// channel, for any generation.
    /// </summary>
    public static readonly IReadOnlyList<string> Optional = [Control, Supervisor, Activated, SpawnedAt, RestoreNice, Standby];
}
