using System.Text;
using Microsoft.Extensions.Options;

namespace Blog.Options;

/// <summary>Checks <see cref="AppOptions"/> at start, so a bad value stops the process with its name.</summary>
internal sealed class AppOptionsValidator(IHostEnvironment environment) : IValidateOptions<AppOptions>
{
    public ValidateOptionsResult Validate(string? name, AppOptions options)
    {
        var failures = new List<string>();
        if (options.PageSize is < 1 or > 1000)
        {
            failures.Add($"App:PageSize must be between 1 and 1000 (got {options.PageSize}).");
        }

        if (options.TokenLifetime <= TimeSpan.Zero)
        {
            failures.Add($"App:TokenLifetime must be positive (got {options.TokenLifetime}).");
        }

        if (options.MaxRequestBodyBytes <= 0)
        {
            failures.Add($"App:MaxRequestBodyBytes must be positive (got {options.MaxRequestBodyBytes}).");
        }

        var rateLimit = options.AuthRateLimit ?? new AuthRateLimitOptions();
        if (rateLimit.PermitLimit is < 1 or > 1_000_000)
        {
            failures.Add($"App:AuthRateLimit:PermitLimit must be between 1 and 1000000 (got {rateLimit.PermitLimit}).");
        }

        if (rateLimit.Window < TimeSpan.FromSeconds(1) || rateLimit.Window > TimeSpan.FromDays(1))
        {
            failures.Add($"App:AuthRateLimit:Window must be between 00:00:01 and 1.00:00:00 (got {rateLimit.Window}).");
        }

        var secretBytes = Encoding.UTF8.GetByteCount(options.JwtSecret ?? "");
        if (secretBytes < AppOptions.MinimumSecretBytes)
        {
            failures.Add(
                $"App:JwtSecret is {(secretBytes == 0 ? "missing" : $"too short ({secretBytes} bytes)")}: it must be at least {AppOptions.MinimumSecretBytes} bytes. " +
                "Set it outside the repository, e.g. the environment variable App__JwtSecret=$(openssl rand -base64 48).");
        }
        else if (!environment.IsDevelopment() && options.JwtSecret!.StartsWith(AppOptions.DevelopmentSecretPrefix, StringComparison.Ordinal))
        {
            failures.Add($"App:JwtSecret is the development secret, which is public; the {environment.EnvironmentName} environment needs its own (App__JwtSecret).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Checks <see cref="DatabaseOptions"/> at start.</summary>
internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        var failures = new List<string>();
        var provider = options.Provider ?? "";
        if (!provider.Equals(DatabaseOptions.Sqlite, StringComparison.OrdinalIgnoreCase) &&
            !provider.Equals(DatabaseOptions.Postgres, StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"Database:Provider must be '{DatabaseOptions.Sqlite}' or '{DatabaseOptions.Postgres}' (got '{provider}').");
        }

        if (options.IsPostgres && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add("Database:ConnectionString is required when Database:Provider is 'postgres'.");
        }

        if (options.BusyTimeout <= TimeSpan.Zero)
        {
            failures.Add($"Database:BusyTimeout must be positive (got {options.BusyTimeout}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
