namespace Baton;

/// <summary>
/// An <see cref="IBatonDrainSignal"/> that drains when told to: a test double for an app's own unit tests (its WebSocket
/// or SSE handler can be driven through a drain without a real handover), and for an app that decides itself when to
/// move its clients.
/// </summary>
public sealed class ManualDrainSignal : IBatonDrainSignal, IDisposable
{
    private readonly CancellationTokenSource _draining = new();

    /// <inheritdoc/>
    public CancellationToken Draining => _draining.Token;

    /// <inheritdoc/>
    public bool IsDraining => _draining.IsCancellationRequested;

    /// <summary>Fires the signal (callbacks run on the calling thread); later calls do nothing.</summary>
    public void StartDraining() => _draining.Cancel();

    /// <inheritdoc/>
    public void Dispose() => _draining.Dispose();
}
