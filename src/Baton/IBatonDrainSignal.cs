namespace Baton;

/// <summary>
/// Tells the app that this process has begun to drain, so that long-lived connections (WebSockets, server-sent events,
/// long polls) can ask their clients to reconnect - to the new process after a handover, to another instance after a
/// stop - instead of holding this process until <see cref="BatonOptions.HammerTime"/>. Resolve it from DI.
/// </summary>
/// <remarks>
/// <para>
/// Under <c>UseBaton()</c> it fires once, when this process has stopped accepting and starts waiting for its
/// connections: after a handover's "go" (the new process accepts from then on), and on a stop for good (SIGTERM,
/// SIGINT, <c>StopApplication()</c>; after <see cref="BatonOptions.DrainDelay"/>, while the process still accepts, it
/// has not fired yet). It never fires while a handover is only being attempted: a handover that fails leaves the process
/// serving, and its connections untouched.
/// </para>
/// <para>
/// A connection that ignores it is still aborted at HammerTime. Callbacks registered on <see cref="Draining"/> run on a
/// thread-pool thread, never on the thread that drives the drain. Without <c>UseBaton()</c>,
/// <see cref="BatonHostingExtensions.AddBatonDrainSignal"/> registers one that follows
/// <c>IHostApplicationLifetime.ApplicationStopping</c>, the plain host's equivalent; under <c>UseBaton()</c> that token
/// is cancelled only once the drain is over, too late for this purpose.
/// </para>
/// </remarks>
public interface IBatonDrainSignal
{
    /// <summary>Cancelled when this process starts to drain. Pass it to the wait that ends a long-lived connection.</summary>
    CancellationToken Draining { get; }

    /// <summary>True once this process drains: a long-lived request that begins now should end at once (with a retry hint).</summary>
    bool IsDraining { get; }
}
