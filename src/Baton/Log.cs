using Baton.Draining;
using Baton.Handover;
using Microsoft.Extensions.Logging;

namespace Baton;

/// <summary>Every line Baton logs, one event id per step, pids and durations as structured fields.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Actual pid is {Pid}")]
    public static partial void ActualPid(ILogger logger, int pid);

    [LoggerMessage(2, LogLevel.Information, "Process {Pid} (generation {Generation}) serves on {Addresses}")]
    public static partial void Serving(ILogger logger, int pid, int generation, string addresses);

    [LoggerMessage(3, LogLevel.Information, "Process {Pid} adopted inherited listener {EndPoint} from process {ParentPid}")]
    public static partial void AdoptedListener(ILogger logger, int pid, string endPoint, int parentPid);

    [LoggerMessage(4, LogLevel.Warning, "Process {Pid} closed inherited listener(s) {EndPoints}: the configuration no longer asks for them")]
    public static partial void ClosedUnclaimed(ILogger logger, int pid, string endPoints);

    [LoggerMessage(10, LogLevel.Information, "SIGHUP received by process {Pid}: starting a new process")]
    public static partial void RestartRequested(ILogger logger, int pid);

    [LoggerMessage(11, LogLevel.Information, "New process {ChildPid} started by process {Pid}; waiting for it to report ready")]
    public static partial void SuccessorStarted(ILogger logger, int childPid, int pid);

    [LoggerMessage(12, LogLevel.Information, "New process {ChildPid} (generation {Generation}) ready after {ElapsedMs} ms; process {Pid} hands over")]
    public static partial void SuccessorReady(ILogger logger, int childPid, int generation, long elapsedMs, int pid);

    [LoggerMessage(13, LogLevel.Error, "HANDOVER FAILED, process {Pid} keeps serving (fix the cause, then send SIGHUP again): {Reason}")]
    public static partial void HandoverFailed(ILogger logger, int pid, string reason);

    [LoggerMessage(14, LogLevel.Warning, "SIGHUP ignored by process {Pid}: it is {State}, a restart needs it Serving")]
    public static partial void RestartIgnored(ILogger logger, int pid, BatonState state);

    [LoggerMessage(15, LogLevel.Warning, "SIGHUP deferred by process {Pid}: process {PredecessorPid} it took over from still drains ({Connections} connection(s) open); the restart starts once it has exited")]
    public static partial void RestartDeferred(ILogger logger, int pid, int predecessorPid, string connections);

    [LoggerMessage(16, LogLevel.Information, "Process {PredecessorPid} has exited: process {Pid} starts the deferred restart, starting a new process")]
    public static partial void DeferredRestartStarting(ILogger logger, int pid, int predecessorPid);

    [LoggerMessage(17, LogLevel.Warning, "SIGUSR2 received by process {Pid} during a handover: the new process is abandoned (killed), this one serves on")]
    public static partial void HandoverAbandoned(ILogger logger, int pid);

    [LoggerMessage(18, LogLevel.Critical, "New process {ChildPid} {Exit} while process {Pid} drains: nothing accepts on the listeners now (restart the service)")]
    public static partial void SuccessorDied(ILogger logger, int childPid, string exit, int pid);

    [LoggerMessage(25, LogLevel.Error, "Process {Pid} serves, but switching standard error or closing listeners no longer configured failed")]
    public static partial void AfterAcceptFailed(ILogger logger, int pid, Exception exception);

    [LoggerMessage(19, LogLevel.Warning, "Process {Pid}: process {ParentPid} it took over from exited before it accepted the ready; this process serves anyway (nobody else accepts)")]
    public static partial void PredecessorVanished(ILogger logger, int pid, int parentPid);

    [LoggerMessage(20, LogLevel.Information, "Process {Pid} stopped accepting (listener {Detail})")]
    public static partial void ListenerClosedCore(ILogger logger, int pid, string detail);

    public static void ListenerClosed(ILogger logger, int pid, bool keptOpen) =>
        ListenerClosedCore(logger, pid, keptOpen ? "closed here, still open in the other process" : "closed");

    [LoggerMessage(21, LogLevel.Information, "Process {Pid} waiting for {Connections} connection(s) to finish")]
    public static partial void WaitingForConnections(ILogger logger, int pid, int connections);

    [LoggerMessage(22, LogLevel.Information, "Process {Pid} drain ended: {Result} after {ElapsedMs} ms, {Connections} connection(s) left")]
    public static partial void Drained(ILogger logger, int pid, DrainResult result, long elapsedMs, int connections);

    [LoggerMessage(95, LogLevel.Information, "Process {Pid} sent GOAWAY and PING to {Connections} HTTP/2 connection(s); each closes after the PING's answer")]
    public static partial void Http2SentAway(ILogger logger, int pid, int connections);

    [LoggerMessage(96, LogLevel.Warning, "Process {Pid}: HTTP/2 connection {ConnectionId} did not answer the drain's PING within {TimeoutMs} ms; closed without the round trip")]
    public static partial void Http2PingUnanswered(ILogger logger, int pid, string connectionId, long timeoutMs);

    [LoggerMessage(23, LogLevel.Information, "Process {Pid} exiting")]
    public static partial void Exiting(ILogger logger, int pid);

    [LoggerMessage(26, LogLevel.Information, "Process {Pid} is no longer ready and still accepts for {DelayMs} ms (Baton:DrainDelay), then stops accepting")]
    public static partial void DrainDelay(ILogger logger, int pid, long delayMs);

    [LoggerMessage(24, LogLevel.Error, "Process {Pid}: the drain failed; exiting")]
    public static partial void DrainFailed(ILogger logger, int pid, Exception exception);

    [LoggerMessage(30, LogLevel.Information, "{Signal} received by process {Pid}: graceful shutdown")]
    public static partial void StopRequested(ILogger logger, int pid, string signal);

    [LoggerMessage(31, LogLevel.Warning, "{Signal} received by process {Pid} during a handover: the new process is abandoned (killed), then this one stops")]
    public static partial void StopDuringHandover(ILogger logger, int pid, string signal);

    [LoggerMessage(32, LogLevel.Information, "{Signal} ignored by process {Pid}: it is already {State}")]
    public static partial void StopIgnored(ILogger logger, int pid, string signal, BatonState state);

    [LoggerMessage(33, LogLevel.Information, "Process {Pid} forwards the stop to new process {ChildPid}")]
    public static partial void ForwardingStop(ILogger logger, int pid, int childPid);

    [LoggerMessage(40, LogLevel.Warning, "SIGUSR2 received by process {Pid}: hammer, closing {Connections} connection(s) now")]
    public static partial void Hammering(ILogger logger, int pid, int connections);

    [LoggerMessage(41, LogLevel.Information, "SIGUSR2 ignored by process {Pid}: it is {State}; hammer only cuts a drain short")]
    public static partial void HammerIgnored(ILogger logger, int pid, BatonState state);

    [LoggerMessage(42, LogLevel.Information, "{Signal} received by process {Pid}: caught, no action")]
    public static partial void SignalIgnored(ILogger logger, int pid, string signal);

    [LoggerMessage(43, LogLevel.Warning, "{Signal} was ignored when process {Pid} started (nohup or a background job); Baton restored it so it can act on it")]
    public static partial void SignalRestored(ILogger logger, int pid, string signal);

    [LoggerMessage(45, LogLevel.Error, "{Signal} was ignored when process {Pid} started and the runtime had already chosen not to handle it (call UseBaton() before anything writes to the console): it stays ignored, use SIGTERM to stop")]
    public static partial void SignalCannotBeCaught(ILogger logger, int pid, string signal);

    [LoggerMessage(46, LogLevel.Critical, "Process {Pid} failed while it was taking over and stops; its predecessor keeps serving")]
    public static partial void TakeOverFailed(ILogger logger, int pid, Exception exception);

    [LoggerMessage(47, LogLevel.Critical, "Process {Pid} failed to start and stops (exit code 1)")]
    public static partial void StartFailed(ILogger logger, int pid, Exception exception);

    [LoggerMessage(48, LogLevel.Warning, "Process {Pid} was started with standard descriptor(s) {Descriptors} closed; its successors get /dev/null there")]
    public static partial void StandardDescriptorsClosed(ILogger logger, int pid, string descriptors);

    [LoggerMessage(49, LogLevel.Information, "Process {Pid} starts successors with {Spawn}")]
    public static partial void PortableSpawn(ILogger logger, int pid, string spawn);

    [LoggerMessage(44, LogLevel.Warning, "Process {Pid} still running {GraceMs} ms after the hammer (a handler ignores its aborted request): exiting now")]
    public static partial void HammerExit(ILogger logger, int pid, long graceMs);

    [LoggerMessage(50, LogLevel.Error, "Process {Pid} could not update pid file {Path}: {Message}")]
    public static partial void PidFileFailed(ILogger logger, int pid, string path, string message);

    [LoggerMessage(51, LogLevel.Information, "Process {Pid} wrote pid file {Path}")]
    public static partial void PidFileWritten(ILogger logger, int pid, string path);

    [LoggerMessage(53, LogLevel.Information, "Process {Pid} removed Unix socket file {Path}")]
    public static partial void UnixSocketRemoved(ILogger logger, int pid, string path);

    [LoggerMessage(54, LogLevel.Warning, "Process {Pid} could not remove Unix socket file {Path} of a listener it closed: {Reason}")]
    public static partial void UnixSocketNotRemoved(ILogger logger, int pid, string path, string reason);

    // 70-79: health checks and metrics.
    [LoggerMessage(70, LogLevel.Information, "Process {Pid}: the Baton readiness check follows the host's lifetime (UseBaton() was not called)")]
    public static partial void ReadinessWithoutBaton(ILogger logger, int pid);

    [LoggerMessage(80, LogLevel.Information, "Process {Pid} has the control channel {Path} (it answers while it serves)")]
    public static partial void ControlListening(ILogger logger, int pid, string path);

    [LoggerMessage(81, LogLevel.Information, "Process {Pid}: control request '{Request}' from process {PeerPid}")]
    public static partial void ControlRequest(ILogger logger, int pid, string request, int peerPid);

    [LoggerMessage(82, LogLevel.Warning, "Process {Pid} refused a control connection from process {PeerPid}: user {PeerUser} is not this server's user")]
    public static partial void ControlRefused(ILogger logger, int pid, int peerPid, uint peerUser);

    [LoggerMessage(83, LogLevel.Error, "Process {Pid}: the control channel failed and no longer answers: {Message}")]
    public static partial void ControlFailed(ILogger logger, int pid, string message);

    [LoggerMessage(84, LogLevel.Warning, "Process {Pid}: the inherited control socket {Inherited} is not the one the configuration names ({Wanted}); it is replaced")]
    public static partial void ControlMoved(ILogger logger, int pid, string inherited, string wanted);

    [LoggerMessage(120, LogLevel.Error, "Process {Pid}: {Count} callback(s) on the drain signal (IBatonDrainSignal.Draining) threw; the drain goes on")]
    public static partial void DrainSignalCallbackFailed(ILogger logger, int pid, int count, Exception exception);

    [LoggerMessage(60, LogLevel.Information, "Process {Pid} was passed {Count} listening socket(s) by the service manager (socket activation): {Listeners}")]
    public static partial void SocketsActivated(ILogger logger, int pid, int count, string listeners);

    [LoggerMessage(61, LogLevel.Information, "Process {Pid} serves socket-activated listener {EndPoint} (descriptor {Fd}); nothing is bound")]
    public static partial void AdoptedActivatedListener(ILogger logger, int pid, string endPoint, int fd);

    [LoggerMessage(62, LogLevel.Warning, "Process {Pid} closed socket-activated listener(s) {EndPoints}: no configured endpoint is bound there (the service manager still holds them; nobody here answers their connections)")]
    public static partial void ClosedUnclaimedActivated(ILogger logger, int pid, string endPoints);

    [LoggerMessage(63, LogLevel.Information, "Process {Pid}: {Reason}; it binds its endpoints itself")]
    public static partial void SocketActivationIgnored(ILogger logger, int pid, string reason);

    [LoggerMessage(64, LogLevel.Warning, "Process {Pid} could not tell the service manager {Message}: {Error}")]
    public static partial void NotifyFailed(ILogger logger, int pid, string message, string error);

    [LoggerMessage(65, LogLevel.Information, "Process {Pid} reports its state to the service manager (NOTIFY_SOCKET is set; the unit needs Type=notify and NotifyAccess=all)")]
    public static partial void NotifyingServiceManager(ILogger logger, int pid);

    // 90-99: connections that move.
    [LoggerMessage(90, LogLevel.Information, "Process {Pid} moved {Count} idle connection(s) to process {SuccessorPid}")]
    public static partial void ConnectionsMoved(ILogger logger, int pid, int count, int successorPid);

    [LoggerMessage(91, LogLevel.Information, "Process {Pid} received {Count} connection(s) moved from process {PredecessorPid}")]
    public static partial void ConnectionsReceived(ILogger logger, int pid, int count, int predecessorPid);

    [LoggerMessage(92, LogLevel.Warning, "Process {Pid} could not move connection {ConnectionId}; it is closed without a response pending: {Reason}")]
    public static partial void MoveFailed(ILogger logger, int pid, string connectionId, string reason);

    [LoggerMessage(94, LogLevel.Debug, "Process {Pid} moved connection {ConnectionId}: {Detail}")]
    public static partial void ConnectionMoved(ILogger logger, int pid, string connectionId, string detail);

    [LoggerMessage(93, LogLevel.Warning, "Process {Pid} closed a connection moved from process {PredecessorPid}: {Reason}")]
    public static partial void MovedConnectionRefused(ILogger logger, int pid, int predecessorPid, string reason);

    [LoggerMessage(130, LogLevel.Information, "Process {Pid} warmed up: {Requests} request(s) to {Paths} path(s) in {Milliseconds} ms ({Statuses})")]
    public static partial void WarmedUp(ILogger logger, int pid, int requests, int paths, long milliseconds, string statuses);

    [LoggerMessage(131, LogLevel.Information, "Process {Pid} skips the warm-up: {Reason}")]
    public static partial void WarmUpSkipped(ILogger logger, int pid, string reason);

    [LoggerMessage(132, LogLevel.Warning, "Process {Pid}: the warm-up failed, the process reports ready cold")]
    public static partial void WarmUpFailed(ILogger logger, int pid, Exception exception);

    [LoggerMessage(133, LogLevel.Information, "Process {Pid} start-up: {Timeline}")]
    public static partial void StartupTimeline(ILogger logger, int pid, string timeline);

    [LoggerMessage(134, LogLevel.Warning, "Process {Pid}: Baton:SuccessorNice={Nice} is left out: a new process could not take its priority back (that needs root, CAP_SYS_NICE or an RLIMIT_NICE that allows it)")]
    public static partial void SuccessorNiceNotAllowed(ILogger logger, int pid, int nice);

    [LoggerMessage(135, LogLevel.Information, "Process {Pid} serves at its parent's priority again (nice {Nice})")]
    public static partial void PriorityRestored(ILogger logger, int pid, int nice);

    [LoggerMessage(136, LogLevel.Error, "Process {Pid} could not take back nice {Nice}: it serves at a lower priority")]
    public static partial void PriorityNotRestored(ILogger logger, int pid, int nice);

    [LoggerMessage(137, LogLevel.Warning, "Process {Pid}: Kestrel's reload-on-change is on (set up after UseBaton()): a changed certificate file or Kestrel section makes this process unbind and bind that endpoint again, refusing connections in between and aborting its connections after 5 s. Under Baton apply such changes with SIGHUP: load the section with reloadOnChange: false")]
    public static partial void KestrelReloadsOnChange(ILogger logger, int pid);

    [LoggerMessage(138, LogLevel.Debug, "Process {Pid} compiled {Methods} of Baton's methods ahead of their first call in {Milliseconds} ms")]
    public static partial void CodePrepared(ILogger logger, int pid, int methods, long milliseconds);

    [LoggerMessage(140, LogLevel.Information, "Process {Pid} starts standby process {ChildPid} (generation {Generation}): it will wait, ready, for the next SIGHUP")]
    public static partial void StandbyStarting(ILogger logger, int pid, int childPid, int generation);

    [LoggerMessage(141, LogLevel.Information, "Standby process {ChildPid} is ready after {ElapsedMs} ms; process {Pid} hands over to it at the next SIGHUP")]
    public static partial void StandbyReady(ILogger logger, int childPid, long elapsedMs, int pid);

    [LoggerMessage(142, LogLevel.Error, "STANDBY FAILED, a SIGHUP now would fail the same way; process {Pid} keeps serving and tries again when a watched file changes, or in {RetrySeconds} s: standby process {ChildPid}: {Reason}")]
    public static partial void StandbyFailed(ILogger logger, int childPid, string reason, int pid, long retrySeconds);

    [LoggerMessage(143, LogLevel.Information, "Standby process {ChildPid} is out of date ({Change}); process {Pid} stops it and starts another once the files hold still")]
    public static partial void StandbyOutOfDate(ILogger logger, int childPid, string change, int pid);

    [LoggerMessage(144, LogLevel.Information, "SIGHUP: process {Pid} hands over to standby process {ChildPid} (ready for {ReadyForSeconds} s)")]
    public static partial void HandingOverToStandby(ILogger logger, int pid, int childPid, long readyForSeconds);

    [LoggerMessage(145, LogLevel.Information, "SIGHUP: standby process {ChildPid} is out of date ({Change}); process {Pid} starts a new process instead")]
    public static partial void StandbyNotUsed(ILogger logger, int childPid, string change, int pid);

    [LoggerMessage(146, LogLevel.Information, "SIGHUP: process {Pid} waits for standby process {ChildPid}, which is still starting")]
    public static partial void WaitingForStandby(ILogger logger, int childPid, int pid);

    [LoggerMessage(147, LogLevel.Warning, "SIGHUP: standby process {ChildPid} cannot be used ({Reason}); process {Pid} starts a new process instead")]
    public static partial void StandbyFailedAtRestart(ILogger logger, int childPid, string reason, int pid);

    [LoggerMessage(148, LogLevel.Information, "Standby process {ChildPid} stopped ({Exit}); process {Pid} no longer needs it")]
    public static partial void StandbyStopped(ILogger logger, int childPid, string exit, int pid);

    [LoggerMessage(149, LogLevel.Error, "STANDBY DIED while it stood by: process {ChildPid} {Exit}; process {Pid} keeps serving and starts another when a watched file changes, or in {RetrySeconds} s")]
    public static partial void StandbyDied(ILogger logger, int childPid, string exit, int pid, long retrySeconds);

    [LoggerMessage(150, LogLevel.Error, "Process {Pid}: keeping a standby broke")]
    public static partial void StandbyBroke(ILogger logger, int pid, Exception exception);

    [LoggerMessage(151, LogLevel.Information, "Process {Pid} (generation {Generation}) stands by for process {ParentPid}: it serves from the next SIGHUP sent to that process")]
    public static partial void StandingBy(ILogger logger, int pid, int generation, int parentPid);

    [LoggerMessage(152, LogLevel.Warning, "SIGHUP refused by process {Pid}: it is a standby, it has not been told to serve yet; send SIGHUP to process {ParentPid}, which serves")]
    public static partial void RestartBeforeGo(ILogger logger, int pid, int parentPid);

    [LoggerMessage(153, LogLevel.Information, "Process {Pid}: Baton:StandbyNice={Nice} is left out: a standby could not take its priority back (that needs root, CAP_SYS_NICE or an RLIMIT_NICE that allows it); standbys start at this process's priority")]
    public static partial void StandbyNiceNotAllowed(ILogger logger, int pid, int nice);

    [LoggerMessage(154, LogLevel.Information, "Process {Pid} keeps a standby (Baton:Standby): it watches {Files} file(s) for changes ({Method})")]
    public static partial void StandbyWatching(ILogger logger, int pid, int files, string method);

    [LoggerMessage(155, LogLevel.Error, "Process {Pid} serves (a standby told to go), but its BeforeBegin hook failed")]
    public static partial void BeginHookFailed(ILogger logger, int pid, Exception exception);

    [LoggerMessage(156, LogLevel.Warning, "Standby process {Pid}: process {ParentPid} it stood by for is gone without telling it to serve (killed or crashed); it stops too (exit code 1)")]
    public static partial void StandbyOrphaned(ILogger logger, int pid, int parentPid);

    [LoggerMessage(158, LogLevel.Debug, "Process {Pid} in its first {Seconds} s of serving: the JIT compiled {Methods} method(s) in {Milliseconds} ms, {Collections} garbage collection(s)")]
    public static partial void JitAfterServing(ILogger logger, int pid, int seconds, long methods, long milliseconds, int collections);

    [LoggerMessage(160, LogLevel.Debug, "Process {Pid} moved a warm-up connection to itself and back into Kestrel in {Milliseconds} ms: its handover's code for moving connections is compiled")]
    public static partial void MoveRehearsed(ILogger logger, int pid, long milliseconds);

    [LoggerMessage(161, LogLevel.Information, "Process {Pid} could not rehearse moving a connection ({Reason}); nothing else changes: at its handover that code is compiled as connections move")]
    public static partial void MoveRehearsalFailed(ILogger logger, int pid, string reason);

    [LoggerMessage(162, LogLevel.Debug, "Process {Pid} sent {Messages} of Baton's log message(s) through the log pipeline unwritten in {Milliseconds} ms: the code each one's arguments need is compiled")]
    public static partial void LogMessagesPrepared(ILogger logger, int pid, int messages, long milliseconds);

    [LoggerMessage(159, LogLevel.Information, "Standby process {Pid} warmed up on while it waited: {Rounds} round(s) in {Milliseconds} ms, {Methods} method(s) compiled; stopped: {Outcome}")]
    public static partial void StandbyWarmedOn(ILogger logger, int pid, int rounds, long milliseconds, long methods, string outcome);

    [LoggerMessage(157, LogLevel.Information, "Standby process {Pid} compiled {Methods} of Baton's methods ahead in {Milliseconds} ms, before it reports ready")]
    public static partial void StandbySettled(ILogger logger, int pid, int methods, long milliseconds);
}
