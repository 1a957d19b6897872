using System.Text.Json.Nodes;
using Baton.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Baton.IntegrationTests.Blog;

/// <summary>The Blog under SIGHUP: writes keep landing, none is lost, and a changed setting takes effect.</summary>
public sealed class BlogRestartTests(ITestOutputHelper output)
{
    private const int Restarts = 5;

    [Theory]
    [InlineData(ConnectionMode.NewConnectionPerRequest)]
    [InlineData(ConnectionMode.KeepAlive)]
    public async Task Sighups_under_concurrent_tag_creates_on_sqlite_fail_none_and_lose_none(ConnectionMode mode)
    {
        var user = BlogUser.New();
        await using var server = await BlogServer.StartAsync(user);
        await CreatesSurviveRestartsAsync(server, user, mode);
    }

    [Theory]
    [InlineData(ConnectionMode.NewConnectionPerRequest)]
    [InlineData(ConnectionMode.KeepAlive)]
    public async Task Sighups_under_concurrent_tag_creates_on_postgres_fail_none_and_lose_none(ConnectionMode mode)
    {
        var connectionString = Environment.GetEnvironmentVariable("BLOG_TEST_POSTGRES");
        if (string.IsNullOrEmpty(connectionString))
        {
            const string Missing = "BLOG_TEST_POSTGRES is not set: run `eval \"$(bash .ci/postgres.sh)\"` to install and start PostgreSQL and export it.";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail("CI must test the Blog on PostgreSQL. " + Missing);
            }

            output.WriteLine("NOT RUN (no PostgreSQL): " + Missing);
            return;
        }

        var user = BlogUser.New();
        await using var server = await BlogServer.StartAsync(user, ["--Database:Provider=postgres", "--Database:ConnectionString=" + connectionString]);
        Assert.Contains(server.Log.Split('\n'), l => l.Contains("Database ready: postgres", StringComparison.Ordinal));
        await CreatesSurviveRestartsAsync(server, user, mode);
    }

    [Fact]
    public async Task A_new_page_size_in_appsettings_applies_after_sighup()
    {
        var user = BlogUser.New();
        await using var server = await BlogServer.StartAsync(user);
        using var client = await BlogClient.LoginAsync(server.BaseAddress, user);
        for (var i = 0; i < 12; i++)
        {
            var (status, json) = await client.SendAsync(HttpMethod.Post, "/api/v1/tags", $$"""{"name":"page-{{i}}","created_by":"me"}""");
            Assert.True(status == 200, json.ToString());
        }

        Assert.Equal((10, 12), await client.ListTagsAsync());

        SetPageSize(server, 5);
        var next = await server.RestartAsync(server.RootPid);

        // Until the old process closes its copy of the listener, a new connection may still reach it; from then on
        // every request is the new process's.
        await server.WaitForLineAsync(l => l.Contains($"Process {server.RootPid} stopped accepting", StringComparison.Ordinal));
        Assert.Equal((5, 12), await client.ListTagsAsync());
        Assert.Equal((2, 12), await client.ListTagsAsync(page: 3));
        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));
        Assert.Equal([next], server.AlivePids());
    }

    [Fact]
    public async Task A_bad_page_size_fails_the_handover_and_the_old_process_keeps_serving()
    {
        var user = BlogUser.New();
        await using var server = await BlogServer.StartAsync(user);
        using var client = await BlogClient.LoginAsync(server.BaseAddress, user);

        SetPageSize(server, 0);
        server.Signal(server.RootPid, Posix.SIGHUP);
        var failure = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal));
        Assert.Contains("App:PageSize", failure, StringComparison.Ordinal);
        Assert.Equal((0, 0), await client.ListTagsAsync());
        Assert.Equal(server.RootPid, server.ReadPidFile());

        SetPageSize(server, 3);
        var next = await server.RestartAsync(server.RootPid);
        Assert.Equal(next, server.ReadPidFile());
    }

    [Fact]
    public async Task Https_from_urls_with_a_default_pem_certificate_serves_and_a_swapped_certificate_is_served_after_sighup()
    {
        var certificates = Directory.CreateTempSubdirectory("blog-tls-").FullName;
        try
        {
            var certificate = Path.Combine(certificates, "cert.pem");
            var key = Path.Combine(certificates, "key.pem");
            var first = TestCertificates.WritePem(certificate, key, "blog first");
            var user = BlogUser.New();
            await using var server = await BlogServer.StartAsync(
                user,
                [
                    "--urls", "http://127.0.0.1:0;https://127.0.0.1:0",
                    "--Kestrel:Certificates:Default:Path=" + certificate,
                    "--Kestrel:Certificates:Default:KeyPath=" + key,
                ]);
            var https = await server.ListeningAddressAsync("https");
            var client = new MiniHttpClient(https);
            Assert.Equal(200, (await client.GetAsync("/health/ready", closeAfter: true, CancellationToken.None)).Status);
            Assert.Equal(first, client.ServedThumbprint);

            var second = TestCertificates.WritePem(certificate, key, "blog second");
            await server.RestartAsync(server.RootPid);
            Assert.Equal(200, (await client.GetAsync("/health/ready", closeAfter: true, CancellationToken.None)).Status);
            Assert.Equal(second, client.ServedThumbprint);
        }
        finally
        {
            Directory.Delete(certificates, recursive: true);
        }
    }

    private async Task CreatesSurviveRestartsAsync(ServerProcess server, BlogUser user, ConnectionMode mode)
    {
        using var client = await BlogClient.LoginAsync(server.BaseAddress, user);
        var (_, before) = await client.ListTagsAsync();
        var load = new TagCreateLoad(client, server.BaseAddress, "load-" + Guid.NewGuid().ToString("N")[..8], mode);
        load.Start();
        var serving = server.RootPid;
        var generations = new List<int> { serving };
        try
        {
            for (var i = 0; i < Restarts; i++)
            {
                await load.WaitForProgressAsync();
                serving = await server.RestartAsync(serving);
                Assert.DoesNotContain(serving, generations);
                generations.Add(serving);
            }

            await load.WaitForProgressAsync();
        }
        finally
        {
            // Stopped in every outcome; StopAsync again below only reads the result.
            await load.StopAsync();
        }

        var result = await load.StopAsync();
        output.WriteLine($"{result} across {Restarts} handovers; generations {string.Join(", ", generations)}");
        Assert.True(result.Failed == 0, result.ToString());
        foreach (var old in generations.SkipLast(1))
        {
            await server.WaitForExitAsync(old, TimeSpan.FromSeconds(30));
        }

        // Exactly the acknowledged creates are stored: none lost, none doubled. The token issued by the first
        // generation was accepted by every later one (same secret from configuration).
        Assert.Equal(result.AcknowledgedIds.Count, result.AcknowledgedIds.Distinct().Count());
        var (_, after) = await client.ListTagsAsync();
        Assert.Equal(result.AcknowledgedIds.Count, after - before);
        Assert.True(result.AcknowledgedIds.Count >= (Restarts + 1) * 50, result.ToString());
        Assert.Equal([serving], server.AlivePids());
        Assert.Equal(serving, server.ReadPidFile());
    }

    private static void SetPageSize(ServerProcess server, int pageSize)
    {
        var path = Path.Combine(server.WorkDirectory, "appsettings.json");
        var settings = JsonNode.Parse(File.ReadAllText(path))!;
        settings["App"]!["PageSize"] = pageSize;

        // Written whole, then renamed: a process that starts meanwhile reads the old file or the new one.
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, settings.ToJsonString());
        File.Move(temporary, path, overwrite: true);
    }
}
