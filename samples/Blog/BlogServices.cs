using Baton;
using Blog.Api;
using Blog.Auth;
using Blog.Data;
using Blog.Logging;
using Blog.Options;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Blog;

/// <summary>Everything the Blog registers, in one place.</summary>
internal static class BlogServices
{
    public static WebApplicationBuilder AddBlog(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddQuerySecretRedaction();
        services.AddBlogData();
        services.AddOptions<AppOptions>().BindConfiguration(AppOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AppOptions>, AppOptionsValidator>();
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, KestrelBodyLimitSetup>();

        services.AddRateLimiter(static _ => { });
        services.AddSingleton<IConfigureOptions<RateLimiterOptions>, AuthRateLimit>();
        services.AddSingleton<JwtTokens>();
        services.AddSingleton<Logins>();
        services.AddHostedService<DatabaseInitializer>();
        services.AddHealthChecks().AddBatonReadiness();

        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, BlogJsonContext.Default));
        services.AddOpenApi(o => o.AddDocumentTransformer(static (document, _, _) =>
        {
            document.Info.Title = "Blog API";
            document.Info.Description = "The gin-blog API served through Baton. Every response is {\"code\", \"msg\", \"data\"}; " +
                "POST /auth for a token, then send it as Authorization: Bearer <token> (or ?token=) to /api/v1.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
            };
            return Task.CompletedTask;
        }).AddOperationTransformer(static (operation, context, _) =>
        {
            if (context.Description.RelativePath?.StartsWith("api/v1/", StringComparison.Ordinal) == true)
            {
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", context.Document)] = [] }];
            }

            return Task.CompletedTask;
        }));
        return builder;
    }

    /// <summary>The database and its settings: all that the server and the <c>users</c> command share.</summary>
    public static IServiceCollection AddBlogData(this IServiceCollection services)
    {
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(CreateDatabase);
        services.AddSingleton<BlogStore>();
        return services;
    }

    /// <summary>
    /// Baton writes the pid file where the process runs; the Blog keeps a relative path under its content root (where
    /// <c>data/</c> is), and creates its directory, which the pid file check at start requires.
    /// </summary>
    public static string? UnderContentRoot(string? path, string contentRoot)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return path;
        }

        var full = Path.GetFullPath(path, contentRoot);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return full;
    }

    private static BlogDatabase CreateDatabase(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        return options.IsPostgres
            ? CreatePostgres(options)
            : new SqliteDatabase(options.ConnectionString, services.GetRequiredService<IHostEnvironment>().ContentRootPath, options.BusyTimeout);
    }

    // Kept out of line so that a SQLite process never loads Npgsql.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static PostgresDatabase CreatePostgres(DatabaseOptions options) => new(options.ConnectionString);
}

/// <summary>App:MaxRequestBodyBytes as Kestrel's body limit: a bigger body gets 413.</summary>
internal sealed class KestrelBodyLimitSetup(IOptions<AppOptions> app) : IConfigureOptions<KestrelServerOptions>
{
    public void Configure(KestrelServerOptions options) => options.Limits.MaxRequestBodySize = app.Value.MaxRequestBodyBytes;
}
