using Baton.Kestrel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace Baton.Tests;

public sealed class KestrelReloadSetupTests
{
    [Fact]
    public async Task The_hosts_default_loader_reloads_and_is_replaced_by_one_that_does_not()
    {
        await using var app = WebApplication.CreateSlimBuilder().Build();
        var options = app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
        var loader = options.ConfigurationLoader!;

        // Also proves the accessor still finds Kestrel's internal flag: were it gone, "true" would come for both.
        Assert.True(KestrelReloadSetup.Reloads(loader));

        new KestrelReloadSetup().Configure(options);

        Assert.NotSame(loader, options.ConfigurationLoader);
        Assert.Same(loader.Configuration, options.ConfigurationLoader!.Configuration);
        Assert.False(KestrelReloadSetup.Reloads(options.ConfigurationLoader));
    }

    [Fact]
    public async Task A_loader_the_app_set_up_without_reload_is_kept_with_what_was_set_on_it()
    {
        await using var app = WebApplication.CreateSlimBuilder().Build();
        var options = app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
        var own = options.Configure(app.Configuration.GetSection("Kestrel"), reloadOnChange: false);

        new KestrelReloadSetup().Configure(options);

        Assert.Same(own, options.ConfigurationLoader);
    }
}
