using Baton.Signals;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Hosting;

/// <summary>
/// Replaces the console lifetime: Baton owns SIGTERM/SIGINT (a drain that ends with the process, not the host's
/// immediate stop) and the other signals endless handles.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class BatonHostLifetime(BatonRuntime runtime, SignalRouter signals, ILoggerFactory loggerFactory) : IHostLifetime, IDisposable
{
    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        signals.Attach(runtime.Coordinator, loggerFactory.CreateLogger("Baton"));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => signals.Dispose();
}
