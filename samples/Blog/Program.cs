using Baton;
using Blog;
using Blog.Api;
using Blog.Auth;
using Blog.Cli;
using Blog.Endpoints;
using Blog.Options;

// `Blog users add NAME` manages users and exits; it never starts the server.
if (UsersCommand.Matches(args))
{
    return await UsersCommand.RunAsync(args, Console.In, Console.Out, Console.Error);
}

// The gin-blog API on Baton: `kill -HUP <pid>` starts a new process that takes over the listening socket (and
// re-reads appsettings.json), while this one finishes what it is serving.
var builder = WebApplication.CreateSlimBuilder(args);

// The slim builder leaves HTTPS out of Kestrel's configuration loader: without this, an https endpoint in
// Kestrel:Endpoints or --urls fails the start. Certificates (PEM or PFX) are read by each process at start, so a SIGHUP
// after swapping the files serves the new ones.
builder.WebHost.UseKestrelHttpsConfiguration();
builder.UseBaton(baton => baton.PidFile = BlogServices.UnderContentRoot(baton.PidFile, builder.Environment.ContentRootPath));
builder.AddBlog();

var app = builder.Build();

// Read from configuration, not IOptions<AppOptions>: resolving the options here would validate them before the host
// starts, which reports their failures apart from the other sections' (ValidateOnStart reports all at once).
var compatibleWithOriginal = app.Configuration.GetValue<bool>($"{AppOptions.SectionName}:{nameof(AppOptions.CompatibleWithOriginal)}");
app.UseEnvelopeErrors();
app.UseRateLimiter();
app.MapOpenApi();
app.MapHealthEndpoints();
app.MapAuthEndpoints(compatibleWithOriginal);
app.MapGroup("/api/v1")
    .RequireToken()
    .MapTagEndpoints()
    .MapArticleEndpoints();

app.Run();
return 0;
