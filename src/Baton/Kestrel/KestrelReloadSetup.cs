using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Server.Kestrel;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Baton.Kestrel;

/// <summary>
/// Turns off Kestrel's own reload of its configuration. The web host's defaults load the "Kestrel" section with
/// reload-on-change, and since .NET 8 that also watches every certificate file it names: when one changes, the running
/// process unbinds the endpoint, waits up to 5 s for its connections and aborts the rest, then binds it again - a new
/// port for port 0, "connection refused" in between, and a closed listening socket that a successor may share. Under
/// Baton a changed certificate or endpoint is applied by a handover (SIGHUP), which refuses and drops nothing.
/// </summary>
/// <remarks>
/// Kestrel has no switch for it other than loading the section again without reload-on-change, which replaces the
/// loader and whatever was set on it. So only a loader that reloads is replaced (the host's default one, when
/// UseBaton runs right after it); one the app set up itself without reload-on-change is left as it is.
/// </remarks>
internal sealed class KestrelReloadSetup : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions options)
    {
        if (options.ConfigurationLoader is { } loader && Reloads(loader))
        {
            options.Configure(loader.Configuration, reloadOnChange: false);
        }
    }

    /// <summary>Whether <paramref name="loader"/> reloads on change; true when that cannot be read (a Kestrel without the property).</summary>
    internal static bool Reloads(KestrelConfigurationLoader loader)
    {
        try
        {
            return ReloadOnChange(loader);
        }
        catch (MissingMethodException)
        {
            return true;
        }
    }

    // Kestrel keeps the flag internal. An unsafe accessor reads it without reflection (trimming and NativeAOT safe).
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_ReloadOnChange")]
    private static extern bool ReloadOnChange(KestrelConfigurationLoader loader);
}
