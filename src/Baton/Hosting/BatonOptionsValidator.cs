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

        if (options.DrainDelay < TimeSpan.Zero)
        {
            failures.Add($"Baton:DrainDelay must not be negative (got {options.DrainDelay}).");
        }

        if (options.DrainIdleTimeout < TimeSpan.Zero)
        {
            failures.Add($"Baton:DrainIdleTimeout must not be negative (got {options.DrainIdleTimeout}).");
        }

        if (options.SuccessorNice is < 0 or > 19)
        {
            failures.Add($"Baton:SuccessorNice must be between 0 and 19 (got {options.SuccessorNice}).");
        }

        if (options.StandbyNice is < 0 or > 19)
        {
            failures.Add($"Baton:StandbyNice must be between 0 and 19 (got {options.StandbyNice}).");
        }

        foreach (var path in options.StandbyWatch)
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                failures.Add("Baton:StandbyWatch: an entry is empty; name a file (relative to the content root, or absolute).");
            }
        }

        if (options.WarmUpTimeout <= TimeSpan.Zero)
        {
            failures.Add($"Baton:WarmUpTimeout must be positive (got {options.WarmUpTimeout}).");
        }

        foreach (var path in options.WarmUpPaths)
        {
            if (string.IsNullOrEmpty(path) || path[0] != '/' || path.Any(c => c is ' ' or '\r' or '\n'))
            {
                failures.Add($"Baton:WarmUpPaths: \"{path}\" is not a path (it must start with '/' and hold no space or line break).");
            }
        }

        if (options.ReadTimeout is { } read && read <= TimeSpan.Zero)
        {
            failures.Add($"Baton:ReadTimeout must be positive (got {read}).");
        }

        if (options.WriteTimeout is { } write && write <= TimeSpan.Zero)
        {
            failures.Add($"Baton:WriteTimeout must be positive (got {write}).");
        }

        if (options.MaxHeaderBytes is { } maxHeaderBytes && maxHeaderBytes <= 0)
        {
            failures.Add($"Baton:MaxHeaderBytes must be positive (got {maxHeaderBytes}).");
        }

        if (options.PidFile is { Length: > 0 } pidFile && PidFile.CheckWritable(pidFile) is { } problem)
        {
            failures.Add($"Baton:PidFile '{pidFile}': {problem}");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
