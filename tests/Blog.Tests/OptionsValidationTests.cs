using Blog.Options;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Blog.Tests;

public sealed class OptionsValidationTests
{
    private const string GoodSecret = "a-secret-of-at-least-thirty-two-bytes-long";

    private static AppOptionsValidator App(string environment) => new(new Environment(environment));

    [Fact]
    public void Good_settings_pass()
    {
        Assert.True(App(Environments.Production).Validate(null, new AppOptions { JwtSecret = GoodSecret }).Succeeded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    public void A_missing_or_short_secret_fails_and_says_how_to_set_it(string secret)
    {
        var result = App(Environments.Production).Validate(null, new AppOptions { JwtSecret = secret });
        Assert.True(result.Failed);
        Assert.Contains("App:JwtSecret", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("App__JwtSecret", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_development_secret_is_refused_outside_development()
    {
        var options = new AppOptions { JwtSecret = AppOptions.DevelopmentSecretPrefix + "0123456789abcdef0123456789abcdef" };
        Assert.True(App(Environments.Development).Validate(null, options).Succeeded);
        var production = App(Environments.Production).Validate(null, options);
        Assert.True(production.Failed);
        Assert.Contains("development secret", production.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public void PageSize_must_be_sane(int pageSize)
    {
        var result = App(Environments.Production).Validate(null, new AppOptions { JwtSecret = GoodSecret, PageSize = pageSize });
        Assert.Contains("App:PageSize", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 60, "App:AuthRateLimit:PermitLimit")]
    [InlineData(-1, 60, "App:AuthRateLimit:PermitLimit")]
    [InlineData(10, 0, "App:AuthRateLimit:Window")]
    [InlineData(10, 2 * 86400, "App:AuthRateLimit:Window")]
    public void The_auth_rate_limit_must_be_sane(int permitLimit, int windowSeconds, string named)
    {
        var options = new AppOptions { JwtSecret = GoodSecret, AuthRateLimit = new AuthRateLimitOptions { PermitLimit = permitLimit, Window = TimeSpan.FromSeconds(windowSeconds) } };
        var result = App(Environments.Production).Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(named, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_auth_rate_limit_is_ten_attempts_a_minute()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        var limit = document.RootElement.GetProperty("App").GetProperty("AuthRateLimit");
        Assert.Equal((10, "00:01:00"), (limit.GetProperty("PermitLimit").GetInt32(), limit.GetProperty("Window").GetString()));
        Assert.Equal((10, TimeSpan.FromMinutes(1)), (new AuthRateLimitOptions().PermitLimit, new AuthRateLimitOptions().Window));
    }

    [Fact]
    public void The_shipped_development_secret_is_long_enough_and_marked()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "appsettings.Development.json");
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        var secret = document.RootElement.GetProperty("App").GetProperty("JwtSecret").GetString()!;
        Assert.StartsWith(AppOptions.DevelopmentSecretPrefix, secret, StringComparison.Ordinal);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(secret) >= AppOptions.MinimumSecretBytes);
    }

    [Theory]
    [InlineData("mysql", "x", "Database:Provider")]
    [InlineData("postgres", "", "Database:ConnectionString")]
    public void Database_settings_are_checked(string provider, string connectionString, string named)
    {
        var result = new DatabaseOptionsValidator().Validate(null, new DatabaseOptions { Provider = provider, ConnectionString = connectionString });
        Assert.Contains(named, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sqlite", "")]
    [InlineData("SQLite", "Data Source=x.db")]
    [InlineData("postgres", "Host=127.0.0.1")]
    public void Good_database_settings_pass(string provider, string connectionString) =>
        Assert.True(new DatabaseOptionsValidator().Validate(null, new DatabaseOptions { Provider = provider, ConnectionString = connectionString }).Succeeded);

    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;

        public string ApplicationName { get; set; } = "Blog";

        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
