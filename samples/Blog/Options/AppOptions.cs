namespace Blog.Options;

/// <summary>The blog's own settings, bound from the <c>App</c> section (the original's <c>[app]</c>).</summary>
internal sealed class AppOptions
{
    public const string SectionName = "App";

    /// <summary>The shortest secret accepted: HS256 keys shorter than the hash (32 bytes) weaken it.</summary>
    public const int MinimumSecretBytes = 32;

    /// <summary>Prefix of the secret in appsettings.Development.json; refused outside Development.</summary>
    public const string DevelopmentSecretPrefix = "dev-only-";

    /// <summary>Items per page for the list endpoints. Default 10.</summary>
    public int PageSize { get; set; } = 10;

    /// <summary>HS256 key for the tokens (UTF-8 bytes). Required; at least 32 bytes.</summary>
    public string JwtSecret { get; set; } = "";

    /// <summary>How long an issued token is valid. Default 3 h, as the original.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(3);

    /// <summary>The largest request body Kestrel accepts; bigger bodies get 413. Default 1 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Accepts the original's request forms too: <c>GET /auth?username=&amp;password=</c>, and the fields of write
    /// endpoints in the query string (the original read them with <c>c.Query</c>); a field in the body wins over the
    /// same field in the query. Default false: those forms answer as without it (405, or 400 for missing fields).
    /// </summary>
    public bool CompatibleWithOriginal { get; set; }

    /// <summary>How often one client may try <c>/auth</c> (each attempt costs a PBKDF2 run).</summary>
    public AuthRateLimitOptions AuthRateLimit { get; set; } = new();

    /// <summary>
    /// Creates the demo user (test / test123, as the original) when it does not exist, in Development only (set in
    /// appsettings.Development.json); ignored, with a warning, in any other environment. Default false.
    /// </summary>
    public bool SeedDemoUser { get; set; }
}

/// <summary>The <c>App:AuthRateLimit</c> section: attempts at <c>/auth</c> per client address and window.</summary>
internal sealed class AuthRateLimitOptions
{
    /// <summary>Attempts allowed per <see cref="Window"/>; the next ones get 429. Default 10.</summary>
    public int PermitLimit { get; set; } = 10;

    /// <summary>The window the attempts are counted in; a client's first starts at its first attempt. Default one minute.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}
