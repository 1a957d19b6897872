using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Baton.Hosting;

/// <summary>Checks the options at start, so a bad value fails fast with its name.</summary>
internal sealed class BatonOptionsValidator : IValidateOptions<BatonOptions>
{
    public ValidateOptionsResult Validate(string? name, BatonOptions options)
    {
        var failures = new List<string>();
        if (options.ReadyTimeout <= TimeSpan.Zero)
        {
            failures.Add($"Baton:ReadyTimeout must be positive (got {options.ReadyTimeout}).");
        }

        if (options.HammerTime < TimeSpan.Zero)
        {
            failures.Add($"Baton:HammerTime must not be negative (got {options.HammerTime}).");
        }

        if (options.DrainIdleTimeout < TimeSpan.Zero)
        {
            failures.Add($"Baton:DrainIdleTimeout must not be negative (got {options.DrainIdleTimeout}).");
        }

        if (options.ReadTimeout is { } read && read <= TimeSpan.Zero)
        {
            failures.Add($"Baton:ReadTimeout must be positive (got {read}).");
        }

        if (options.WriteTimeout is { } write && write <= TimeSpan.Zero)
        {
            failures.Add($"Baton:WriteTimeout must be positive (got {write}).");
        }

        if (options.MaxHeaderBytes <= 0)
        {
            failures.Add($"Baton:MaxHeaderBytes must be positive (got {options.MaxHeaderBytes}).");
        }

        if (options.PidFile is { Length: > 0 } pidFile)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(pidFile));
            if (directory is null || !Directory.Exists(directory))
            {
                failures.Add($"Baton:PidFile '{pidFile}': directory '{directory}' does not exist.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Maps the seed's server settings onto Kestrel's limits rather than re-implementing them.</summary>
internal sealed class KestrelLimitsSetup(IOptions<BatonOptions> baton) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions options)
    {
        var settings = baton.Value;
        options.Limits.MaxRequestHeadersTotalSize = settings.MaxHeaderBytes;
        if (settings.ReadTimeout is { } read)
        {
            // Go's ReadTimeout bounds reading a request; its IdleTimeout falls back to ReadTimeout. Kestrel splits
            // the two the same way.
            options.Limits.RequestHeadersTimeout = read;
            options.Limits.KeepAliveTimeout = read;
        }
    }
}

/// <summary>WriteTimeout as the request-timeouts middleware's default policy.</summary>
internal sealed class RequestTimeoutsSetup(IOptions<BatonOptions> baton) : IConfigureOptions<RequestTimeoutOptions>
{
    public void Configure(RequestTimeoutOptions options)
    {
        if (baton.Value.WriteTimeout is { } write && options.DefaultPolicy is null)
        {
            options.DefaultPolicy = new RequestTimeoutPolicy { Timeout = write };
        }
    }
}
