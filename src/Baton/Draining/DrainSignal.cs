using Baton.Handover;
using Microsoft.Extensions.Logging;

namespace Baton.Draining;

/// <summary>
/// Baton's <see cref="IBatonDrainSignal"/>: fired by the coordinator's <see cref="IBatonObserver.Draining"/>
/// transition, which comes once this process has stopped accepting - after a handover's "go", or on a stop for good -
/// and never while a handover is only attempted. So a client told to reconnect reaches the new process (or another
/// instance), never this one again.
/// </summary>
internal sealed class DrainSignal(ILogger logger) : IBatonDrainSignal, IBatonObserver
{
    private readonly CancellationTokenSource _draining = new();
    private int _fired;

    public CancellationToken Draining => _draining.Token;

    public bool IsDraining => Volatile.Read(ref _fired) != 0;

    void IBatonObserver.Draining(bool handedOver) => Fire();

    /// <summary>Marks the process draining at once, and cancels the token off the caller's thread.</summary>
    /// <returns>The cancellation, with every callback run, for tests to await.</returns>
    public Task Fire()
    {
        if (Interlocked.Exchange(ref _fired, 1) != 0)
        {
            return Task.CompletedTask;
        }

        // The app's callbacks (one per open WebSocket, say) may block or throw: they must not hold up, or break, the
        // coordinator's transition, which calls observers on the thread that drains.
        return Task.Run(() =>
        {
            try
            {
                _draining.Cancel();
            }
            catch (AggregateException ex)
            {
                Log.DrainSignalCallbackFailed(logger, Environment.ProcessId, ex.InnerExceptions.Count, ex.InnerException!);
            }
        });
    }
}

/// <summary>
/// The signal without Baton: <see cref="Microsoft.Extensions.Hosting.IHostApplicationLifetime.ApplicationStopping"/>,
/// which a plain host cancels when it starts to stop.
/// </summary>
internal sealed class LifetimeDrainSignal(Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime) : IBatonDrainSignal
{
    public CancellationToken Draining => lifetime.ApplicationStopping;

    public bool IsDraining => lifetime.ApplicationStopping.IsCancellationRequested;
}
