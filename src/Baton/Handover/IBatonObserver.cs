using Baton.Draining;

namespace Baton.Handover;

/// <summary>
/// What happens to this process, for whatever watches it: metrics, the systemd notifier, the control channel's status.
/// Called by the coordinator at its transitions, on the thread that makes them: keep it quick. A throw is caught and
/// dropped (it must never stop a transition).
/// </summary>
internal interface IBatonObserver
{
    /// <summary>The process accepts connections: the first generation at start, a successor once its predecessor said "go".</summary>
    void Serving(int generation) { }

    /// <summary>A restart was accepted; a successor is being started.</summary>
    void HandoverStarting() { }

    /// <summary>The successor reported ready and is about to be told "go": from the next moment it serves.</summary>
    void HandingOverTo(int successorPid) { }

    void HandoverSucceeded(int successorPid, int generation, TimeSpan elapsed) { }

    void HandoverFailed(string reason, TimeSpan elapsed) { }

    void RestartDeferred(int predecessorPid) { }

    /// <summary>
    /// The process stops for good (not a handover): a stop signal, <c>StopApplication()</c>. Not raised by a successor
    /// that was never accepted, which only gives up its part.
    /// </summary>
    void Stopping() { }

    /// <summary>The process stopped accepting and waits for its connections; <paramref name="handedOver"/> when a successor serves.</summary>
    void Draining(bool handedOver) { }

    void Drained(DrainResult result, TimeSpan elapsed) { }
}

/// <summary>Every observer, each call guarded.</summary>
internal sealed class BatonObservers(IEnumerable<IBatonObserver> observers)
{
    private readonly IBatonObserver[] _observers = [.. observers];

    public static BatonObservers None { get; } = new([]);

    public void Notify(Action<IBatonObserver> call)
    {
        foreach (var observer in _observers)
        {
            try
            {
                call(observer);
            }
            catch (Exception)
            {
                // Deliberately dropped: an observer (a metrics exporter, a notify socket) must not stop a transition.
            }
        }
    }
}
