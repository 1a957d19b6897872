using Baton.Handover;

namespace Baton.Health;

/// <summary>
/// Whether this process should get new work, as the coordinator's transitions tell it: ready once it serves (the
/// first generation once it announced itself, a successor once its predecessor said "go"), unready for good once the
/// service stops here (a stop signal or <c>StopApplication()</c>, from the first moment of <c>DrainDelay</c>).
/// </summary>
/// <remarks>
/// A handover changes nothing: while a successor starts, this process serves on (and keeps serving if it fails); once
/// it took over, the listening socket a probe comes through is the successor's, so the answer for it stays "ready".
/// Only a client still on a keep-alive connection can reach a process that handed over, and its answer carries
/// <c>Connection: close</c>: its next probe reaches the successor. Saying "unready" there would take a healthy
/// instance out of a load balancer's pool for every reload.
/// </remarks>
internal sealed class BatonReadiness : IBatonObserver
{
    private int _state = (int)Readiness.NotServing;

    public Readiness State => (Readiness)Volatile.Read(ref _state);

    // A stop wins over a "serving" that comes late: the coordinator raises them from different threads.
    public void Serving(int generation) =>
        Interlocked.CompareExchange(ref _state, (int)Readiness.Serving, (int)Readiness.NotServing);

    public void Stopping() => Volatile.Write(ref _state, (int)Readiness.Stopping);
}

internal enum Readiness
{
    NotServing,
    Serving,
    Stopping,
}
