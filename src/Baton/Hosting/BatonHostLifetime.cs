using Baton.Signals;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Baton.Hosting;

/// <summary>
/// Replaces the console lifetime: Baton owns SIGTERM/SIGINT (a drain that ends with the process, not the host's
/// immediate stop) and the other signals of the seed.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class BatonHostLifetime(BatonRuntime runtime, ILoggerFactory loggerFactory) : IHostLifetime, IDisposable
{
    private SignalRouter? _signals;

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        _signals ??= new SignalRouter(runtime.Coordinator, loggerFactory.CreateLogger("Baton"));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _signals?.Dispose();
}
