namespace Baton;

/// <summary>
/// Settings for Baton, bound from the <c>Baton</c> configuration section
/// (so <c>--Baton:PidFile=/run/app.pid</c> works on the command line).
/// </summary>
/// <remarks>
/// Every value is validated when the host starts; a bad value stops the start with a message naming the setting.
/// </remarks>
public sealed class BatonOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "Baton";

    /// <summary>
    /// Where the serving process writes its pid (atomically, once it serves). Empty: no pid file.
    /// A process that hands over never deletes its successor's file.
    /// </summary>
    public string? PidFile { get; set; }

    /// <summary>
    /// How long a new process may take to report that it serves before it is killed and the old one
    /// keeps serving. Default 30 s.
    /// </summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a draining process waits for in-flight requests (after a handover or SIGTERM/SIGINT)
    /// before it closes what is left. Default 60 s, as endless.
    /// </summary>
    public TimeSpan HammerTime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// On a stop (SIGTERM, SIGINT, <c>StopApplication()</c>; not a handover): how long the process reports itself not
    /// ready while it still accepts, before it stops accepting - the time a load balancer or Kubernetes needs to take
    /// it out of rotation, so that no client is refused. Default zero.
    /// </summary>
    public TimeSpan DrainDelay { get; set; }

    /// <summary>
    /// How long a draining process lets keep-alive connections sit idle, hoping for one more request it can answer
    /// with <c>Connection: close</c>, before it closes them. Closing an idle connection races with a client that is
    /// just sending on it; waiting a little turns that race into a clean close for every busy client. Default 2 s.
    /// </summary>
    public TimeSpan DrainIdleTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// After a handover, pass each idle plain HTTP/1.1 TCP connection (no request in progress, nothing of a next
    /// request half read) to the new process instead of closing it: the client keeps its connection, and requests it
    /// pipelined or sends later are answered by the new process on it. TLS, HTTP/2, Unix-socket and upgraded
    /// connections, and ones that carried a request body, are drained as before. Default true.
    /// </summary>
    public bool MoveIdleConnections { get; set; } = true;

    /// <summary>
    /// Before a new process reports ready, drive requests through the app's own pipeline (in memory, never through the
    /// shared socket) so that the JIT has compiled what the first clients will need: under the JIT a cold process
    /// answers its first requests many times slower. Each path is requested twice; a request that has no response head
    /// within 250 ms is abandoned. Handlers can tell these requests apart with <c>HttpContext.IsBatonWarmUp()</c>, to
    /// skip side effects. Needs a plain HTTP endpoint (not HTTPS). Default false: Baton does not call an app's
    /// endpoints unasked (a GET that has side effects - a logout, a cache flush, a stop - is common enough).
    /// </summary>
    public bool WarmUp { get; set; }

    /// <summary>
    /// The paths (with query strings, if any) a warm-up requests with GET. Empty: every endpoint the app maps that
    /// answers GET without route parameters (at most 32).
    /// </summary>
    public IList<string> WarmUpPaths { get; } = [];

    /// <summary>
    /// The most a warm-up may add to a handover; what is not done by then is left. Never more than half of
    /// <see cref="ReadyTimeout"/>, so that a warm-up alone cannot fail a handover. Default 3 s.
    /// </summary>
    public TimeSpan WarmUpTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How many nice values lower in CPU priority a new process starts (0 to 19), so that its start-up - under the JIT,
    /// mostly compiling - takes the cores from the process still serving as little as possible; it takes its parent's
    /// priority back once it is accepted. Only where that is allowed (root, CAP_SYS_NICE, or an RLIMIT_NICE that
    /// allows it): elsewhere it is left out, and the log says so. Default 0 (off).
    /// </summary>
    public int SuccessorNice { get; set; }

    /// <summary>
    /// Keep a standby: a new process started ahead of any SIGHUP - once this one serves and its predecessor has exited -
    /// which starts, warms up (with <see cref="WarmUp"/>, longer than a handover's) and waits, ready, without taking a
    /// connection. A SIGHUP then hands over to it in the time a "go" takes instead of a whole start-up. It is used only
    /// while nothing it read has changed: every configuration file, the certificate files named under <c>Kestrel</c>,
    /// the app's files (its directory, the executable, the runtime's directory) and <see cref="StandbyWatch"/> are
    /// compared (inode, size, modification and change times) with how they were when it started. After a change a
    /// SIGHUP starts a new process as without a standby, and the standby is replaced as soon as the files hold still.
    /// A standby that fails to start says why at once (a SIGHUP would fail the same way). The price: a second process's
    /// memory, and an app whose start-up has side effects (hosted services, migrations) runs them in the standby too.
    /// Default false.
    /// </summary>
    public bool Standby { get; set; }

    /// <summary>
    /// How many nice values lower in CPU priority a standby starts and waits (0 to 19); it takes this process's priority
    /// back at "go". Only where that is allowed (root, CAP_SYS_NICE, or an RLIMIT_NICE that allows it); elsewhere it
    /// starts at this process's priority. Default 19: a standby has time, the process serving has clients.
    /// </summary>
    public int StandbyNice { get; set; } = 19;

    /// <summary>
    /// A standby also starts and waits under Linux's SCHED_IDLE policy (where this process runs under the default one and
    /// may give a lowered priority back, as for <see cref="StandbyNice"/>): the scheduler runs it only on a core nothing
    /// else wants, and a thread of the serving process that wakes up takes its core at once. It takes this process's
    /// policy back at "go". Default true: measured against nice 19 alone, with the standby warming up on while it
    /// waits, the serving process's p99 under SIGHUPs was lower in every pair of runs (docs/benchmarks.md).
    /// </summary>
    public bool StandbyIdle { get; set; } = true;

    /// <summary>
    /// More files a standby depends on (relative to the content root), for files the app reads itself at start-up:
    /// when one changes, the standby is replaced before it could serve what the file said before.
    /// </summary>
    public IList<string> StandbyWatch { get; } = [];

    /// <summary>
    /// Time allowed to receive a request's headers, and how long an idle keep-alive connection is kept
    /// (Kestrel's <c>RequestHeadersTimeout</c> and <c>KeepAliveTimeout</c>). Null: Kestrel's defaults, or what the app
    /// set in <c>ConfigureKestrel</c>.
    /// </summary>
    public TimeSpan? ReadTimeout { get; set; }

    /// <summary>
    /// Time a request may take to be handled: then its <c>RequestAborted</c> token is cancelled and, if nothing was
    /// sent yet, it is answered 504. An endpoint's own timeout metadata wins: <c>.DisableRequestTimeout()</c>,
    /// <c>[DisableRequestTimeout]</c>, <c>.WithRequestTimeout(...)</c> or <c>[RequestTimeout]</c> take it out of
    /// this limit (the last two are enforced by the app's own <c>UseRequestTimeouts()</c>), and so does a WebSocket
    /// request. Null: no limit.
    /// </summary>
    public TimeSpan? WriteTimeout { get; set; }

    /// <summary>
    /// The largest total size of a request's headers (Kestrel's <c>MaxRequestHeadersTotalSize</c>); bigger
    /// requests get 431. Null: Kestrel's default (32 KiB), or what the app set in <c>ConfigureKestrel</c>.
    /// </summary>
    public int? MaxHeaderBytes { get; set; }

    /// <summary>
    /// Called once the process serves, just before it tells its parent (if any) that it is ready: it sees the real
    /// pid and the listen addresses. When null, Baton logs <c>Actual pid is N</c>.
    /// Set it in code (<c>UseBaton(o =&gt; o.BeforeBegin = ...)</c>); it is not read from configuration.
    /// </summary>
    [Microsoft.Extensions.Configuration.ConfigurationKeyName("__code_only_BeforeBegin")]
    public Action<BatonBeginContext>? BeforeBegin { get; set; }
}
