using System.Globalization;
using System.Text;
using Baton.Handover;
using Baton.Interop;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Baton.Systemd;

/// <summary>
/// Tells a Type=notify service manager what the service is doing, through <see cref="ISystemdNotifier"/> (the socket
/// named by NOTIFY_SOCKET; nothing is sent without it). Each process speaks for itself, from its own pid:
/// <list type="bullet">
/// <item>READY=1 when it serves: the first generation at start, a successor once its predecessor said "go";</item>
/// <item>RELOADING=1 with MONOTONIC_USEC= when a handover starts, MAINPID=&lt;successor&gt; once the successor's
/// ready is accepted and before it is told "go" (so systemd follows the new process before it can say READY=1), and
/// READY=1 again from the old process if the handover fails or is abandoned;</item>
/// <item>STOPPING=1 only when the service stops for good. A process that hands over says nothing more: systemd takes
/// STOPPING=1 from any process of the unit as the whole service stopping, and a STATUS= from it would overwrite the
/// successor's.</item>
/// </list>
/// Messages from a process other than the main one count only with NotifyAccess=all in the unit.
/// </summary>
internal sealed class SystemdNotifications : IBatonObserver
{
    // systemd 252 reads at most PIPE_BUF (4096) bytes of a datagram; a failure reason can carry a successor's last
    // words, so the status line keeps only their start.
    private const int MaxReasonLength = 300;

    private readonly Lock _gate = new();
    private readonly ISystemdNotifier _notifier;
    private readonly ILogger _logger;
    private readonly int _pid;
    private readonly Func<long> _monotonicMicroseconds;
    private int _generation;
    private int? _mainPidGivenTo;

    public SystemdNotifications(ISystemdNotifier notifier, ILoggerFactory loggerFactory, Hosting.BatonProcess process)
        : this(notifier, loggerFactory.CreateLogger("Baton"), Environment.ProcessId, process.Generation, MonotonicClock.Microseconds)
    {
    }

    internal SystemdNotifications(ISystemdNotifier notifier, ILogger logger, int pid, int generation, Func<long> monotonicMicroseconds)
    {
        _notifier = notifier;
        _logger = logger;
        _pid = pid;
        _generation = generation;
        _monotonicMicroseconds = monotonicMicroseconds;
    }

    public void Serving(int generation)
    {
        lock (_gate)
        {
            _generation = generation;
        }

        Send($"READY=1\nSTATUS={ServingStatus()}");
    }

    public void HandoverStarting()
    {
        lock (_gate)
        {
            _mainPidGivenTo = null;
        }

        // The timestamp lets systemd tell this reload from one it asked for earlier (Type=notify-reload insists on it).
        Send($"RELOADING=1\nMONOTONIC_USEC={Number(_monotonicMicroseconds())}\nSTATUS=Handing over: process {Number(_pid)} starts a new process");
    }

    public void HandingOverTo(int successorPid)
    {
        lock (_gate)
        {
            _mainPidGivenTo = successorPid;
        }

        Send($"MAINPID={Number(successorPid)}\nSTATUS=Handing over to process {Number(successorPid)}");
    }

    public void HandoverFailed(string reason, TimeSpan elapsed)
    {
        int? given;
        lock (_gate)
        {
            given = _mainPidGivenTo;
            _mainPidGivenTo = null;
        }

        // The successor could be named the main process and still fail (it could not be told "go"): then systemd must
        // follow this process again, or it would wait on a dead one.
        var mainPid = given is null ? string.Empty : $"MAINPID={Number(_pid)}\n";
        Send($"{mainPid}READY=1\nSTATUS={ServingStatus()}; the last handover failed: {OneLine(reason)}");
    }

    public void RestartDeferred(int predecessorPid) =>
        Send($"STATUS={ServingStatus()}; a restart waits until process {Number(predecessorPid)} has drained");

    public void Stopping() => Send($"STOPPING=1\nSTATUS=Stopping: process {Number(_pid)} drains its connections");

    private string ServingStatus()
    {
        int generation;
        lock (_gate)
        {
            generation = _generation;
        }

        return $"Serving: process {Number(_pid)}, generation {Number(generation)}";
    }

    private void Send(string message)
    {
        if (!_notifier.IsEnabled)
        {
            return;
        }

        try
        {
            _notifier.Notify(new ServiceState(message));
        }
        catch (Exception ex)
        {
            // A service manager that went away must not stop a transition; the log says what it missed.
            Log.NotifyFailed(_logger, _pid, message.Split('\n')[0], ex.Message);
        }
    }

    /// <summary>
    /// One line of printable text: a newline inside STATUS= would start a new assignment, so a reason that contains
    /// "\nSTOPPING=1" must not be able to stop the service.
    /// </summary>
    internal static string OneLine(string text)
    {
        var line = new StringBuilder(Math.Min(text.Length, MaxReasonLength + 3));
        foreach (var c in text)
        {
            if (line.Length == MaxReasonLength)
            {
                line.Append("...");
                break;
            }

            line.Append(char.IsControl(c) ? ' ' : c);
        }

        return line.ToString();
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
