using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Baton.Kestrel;

/// <summary>
/// Maps the endless-style server settings onto Kestrel's limits rather than re-implementing them. A setting left unset
/// changes nothing: Kestrel's defaults, and whatever the app set in <c>ConfigureKestrel</c>, stand.
/// </summary>
internal sealed class KestrelLimitsSetup(IOptions<BatonOptions> baton) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions options)
    {
        var settings = baton.Value;
        if (settings.MaxHeaderBytes is { } maxHeaderBytes)
        {
            options.Limits.MaxRequestHeadersTotalSize = maxHeaderBytes;
        }

        if (settings.ReadTimeout is { } read)
        {
            // Go's ReadTimeout bounds reading a request; its IdleTimeout falls back to ReadTimeout. Kestrel splits
            // the two the same way.
            options.Limits.RequestHeadersTimeout = read;
            options.Limits.KeepAliveTimeout = read;
        }
    }
}
