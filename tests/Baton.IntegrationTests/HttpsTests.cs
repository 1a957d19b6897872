using System.Text.RegularExpressions;
using Baton.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Baton.IntegrationTests;

/// <summary>
/// HTTPS from Kestrel's configuration in samples/Hello (a slim builder, NativeAOT-able): certificates read from files by
/// each generation, so swapping the files and sending SIGHUP rotates them with no connection lost.
/// </summary>
public sealed partial class HttpsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Swapped_certificate_files_are_served_to_new_connections_after_sighup_and_an_open_connection_finishes_on_the_old_one()
    {
        string first = null!;
        await using var server = await ServerProcess.StartAsync(
            SampleApp.Hello,
            [
                .. PemEndpoints(),

                // Long enough that the idle TLS connection opened before the SIGHUP is still open when it sends its request.
                "--Baton:DrainIdleTimeout=00:01:00",
            ],
            prepare: directory =>
            {
                first = TestCertificates.WritePem(Path.Combine(directory, "cert.pem"), Path.Combine(directory, "key.pem"), "first");
                return Task.CompletedTask;
            });
        var https = await server.ListeningAddressAsync("https");
        Assert.Equal(first, await TestCertificates.ServedThumbprintAsync(https.Port));

        // A keep-alive TLS connection to the first generation, idle across the handover.
        var open = new MiniHttpClient(https);
        var (status, body, _) = await open.GetAsync("/", closeAfter: false, CancellationToken.None);
        Assert.Equal((200, server.RootPid), (status, PidOf(body)));
        Assert.Equal(first, open.ServedThumbprint);

        var second = TestCertificates.WritePem(Path.Combine(server.WorkDirectory, "cert.pem"), Path.Combine(server.WorkDirectory, "key.pem"), "second");
        Assert.NotEqual(first, second);
        var next = await server.RestartAsync(server.RootPid);

        // New connections: the new certificate, from the new process.
        Assert.Equal(second, await TestCertificates.ServedThumbprintAsync(https.Port));
        var fresh = new MiniHttpClient(https);
        (status, body, _) = await fresh.GetAsync("/", closeAfter: true, CancellationToken.None);
        Assert.Equal((200, next), (status, PidOf(body)));
        Assert.Equal(second, fresh.ServedThumbprint);

        // The connection opened before the SIGHUP: still the old certificate, and its request answered by the old process.
        (status, body, _) = await open.GetAsync("/", closeAfter: false, CancellationToken.None);
        Assert.Equal((200, server.RootPid), (status, PidOf(body)));
        Assert.Equal(first, open.ServedThumbprint);
        open.Reset();

        await server.WaitForExitAsync(server.RootPid, TimeSpan.FromSeconds(20));
        Assert.Equal([next], server.AlivePids());
    }

    [Theory]
    [InlineData(ConnectionMode.NewConnectionPerRequest)]
    [InlineData(ConnectionMode.KeepAlive)]
    public async Task Four_sighups_under_tls_load_with_a_new_certificate_each_time_fail_no_request(ConnectionMode mode)
    {
        await using var server = await ServerProcess.StartAsync(
            SampleApp.Hello,
            PemEndpoints(),
            prepare: directory =>
            {
                TestCertificates.WritePem(Path.Combine(directory, "cert.pem"), Path.Combine(directory, "key.pem"), "generation 1");
                return Task.CompletedTask;
            });
        var https = await server.ListeningAddressAsync("https");

        // A client that never retries (see LoadGenerator), over TLS: a handshake that fails or a connection closed
        // under a request counts as a failed request.
        var load = new LoadGenerator(new Uri(https, "/"), mode, workers: 8);
        load.Start();
        var serving = server.RootPid;
        var generations = new List<int> { serving };
        for (var i = 2; i <= 5; i++)
        {
            await load.WaitForServedByAsync(serving);
            var thumbprint = TestCertificates.WritePem(Path.Combine(server.WorkDirectory, "cert.pem"), Path.Combine(server.WorkDirectory, "key.pem"), $"generation {i}");
            serving = await server.RestartAsync(serving);
            generations.Add(serving);
            string? served = null;
            System.Net.Sockets.SocketException? refused = null;
            try
            {
                served = await TestCertificates.ServedThumbprintAsync(https.Port);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                refused = ex;
            }

            if (refused is not null)
            {
                // Once refused right after a handover in CI, cause unknown: the servers' log is what says more.
                throw new InvalidOperationException($"{refused.Message} on port {https.Port} after the handover to {serving}; {await load.StopAsync()}\n{server.Log}", refused);
            }

            Assert.Equal(thumbprint, served);
        }

        await load.WaitForServedByAsync(serving);
        var result = await load.StopAsync();
        foreach (var old in generations.SkipLast(1))
        {
            await server.WaitForExitAsync(old, TimeSpan.FromSeconds(20));
        }

        output.WriteLine($"{mode}: {result}");
        Assert.True(result.Failed == 0, result.ToString());
        Assert.Equal(generations.Order(), result.RequestsByPid.Keys.Order());
        Assert.Equal([serving], server.AlivePids());
    }

    [Fact]
    public async Task Certificate_files_replaced_while_a_process_serves_change_nothing_until_sighup()
    {
        var (server, first) = await StartWithPemAsync("first");
        await using var _ = server;
        var https = await server.ListeningAddressAsync("https");
        Assert.Equal(first, await TestCertificates.ServedThumbprintAsync(https.Port));

        // Kestrel's own reload would see the files change and bind the endpoint again in the serving process: the
        // port closed ("connection refused"), then another port (0 asks for any), its connections aborted after 5 s.
        // It fired 3 to 6 s after a swap here; a new connection every 100 ms for 10 s must find the same socket and
        // certificate.
        var second = TestCertificates.WritePem(Path.Combine(server.WorkDirectory, "cert.pem"), Path.Combine(server.WorkDirectory, "key.pem"), "second");
        var until = DateTime.UtcNow.AddSeconds(10);
        var probes = 0;
        while (DateTime.UtcNow < until)
        {
            Assert.Equal(first, await TestCertificates.ServedThumbprintAsync(https.Port));
            probes++;
            await Task.Delay(100);
        }

        var next = await server.RestartAsync(server.RootPid);
        Assert.Equal(second, await TestCertificates.ServedThumbprintAsync(https.Port));
        var (status, body, _) = await new MiniHttpClient(https).GetAsync("/", closeAfter: true, CancellationToken.None);
        Assert.Equal((200, next), (status, PidOf(body)));
        output.WriteLine($"{probes} connections during the 10 s after the swap were served the first certificate");
    }

    [Fact]
    public async Task An_https_only_successor_warms_up_over_tls_before_it_reports_ready()
    {
        // No plain HTTP endpoint: the warm-up goes over TLS, and warms the handshake with the rest.
        await using var server = await ServerProcess.StartAsync(
            SampleApp.Hello,
            [
                "--Kestrel:Endpoints:Https:Url=https://127.0.0.1:0",
                "--Kestrel:Endpoints:Https:Certificate:Path=cert.pem",
                "--Kestrel:Endpoints:Https:Certificate:KeyPath=key.pem",
            ],
            prepare: directory =>
            {
                TestCertificates.WritePem(Path.Combine(directory, "cert.pem"), Path.Combine(directory, "key.pem"), "warm");
                return Task.CompletedTask;
            });
        var https = await server.ListeningAddressAsync("https");

        var next = await server.RestartAsync(server.RootPid);

        await WarmUpTests.AssertWarmedUpBeforeServingAsync(server, next);
        var (status, body, _) = await new MiniHttpClient(https).GetAsync("/", closeAfter: true, CancellationToken.None);
        Assert.Equal((200, next), (status, PidOf(body)));
    }

    [Fact]
    public async Task A_certificate_that_cannot_be_read_fails_the_handover_and_the_old_process_serves_on_with_the_old_one()
    {
        var (server, first) = await StartWithPemAsync("first");
        await using var _ = server;
        var https = await server.ListeningAddressAsync("https");

        // A new certificate whose key is not the one it was issued for: a deployment that swapped one file of two.
        TestCertificates.WritePem(Path.Combine(server.WorkDirectory, "cert.pem"), Path.Combine(server.WorkDirectory, "other-key.pem"), "second");
        server.Signal(server.RootPid, Posix.SIGHUP);
        var failure = await server.WaitForLineAsync(l => l.Contains("HANDOVER FAILED", StringComparison.Ordinal));
        Assert.Equal(0, await server.WaitUntilSettledAsync());

        output.WriteLine(failure);
        Assert.Contains($"process {server.RootPid} keeps serving", failure, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(server.WorkDirectory, "key.pem"), failure, StringComparison.Ordinal);
        Assert.Equal(first, await TestCertificates.ServedThumbprintAsync(https.Port));
        var (status, body, _) = await new MiniHttpClient(https).GetAsync("/", closeAfter: true, CancellationToken.None);
        Assert.Equal((200, server.RootPid), (status, PidOf(body)));
    }

    [Fact]
    public async Task Https_from_urls_with_a_default_pfx_certificate_serves_and_is_handed_over()
    {
        string thumbprint = null!;
        await using var server = await ServerProcess.StartAsync(
            SampleApp.Hello,
            [
                "--urls", "http://127.0.0.1:0;https://127.0.0.1:0",
                "--Kestrel:Certificates:Default:Path=server.pfx",
                "--Kestrel:Certificates:Default:Password=test password",
            ],
            prepare: directory =>
            {
                thumbprint = TestCertificates.WritePfx(Path.Combine(directory, "server.pfx"), "test password", "pfx");
                return Task.CompletedTask;
            });
        var https = await server.ListeningAddressAsync("https");
        Assert.Equal(thumbprint, await TestCertificates.ServedThumbprintAsync(https.Port));

        var next = await server.RestartAsync(server.RootPid);
        var client = new MiniHttpClient(https);
        var (status, body, _) = await client.GetAsync("/", closeAfter: true, CancellationToken.None);
        Assert.Equal((200, next), (status, PidOf(body)));
        Assert.Equal(thumbprint, client.ServedThumbprint);

        // Each endpoint kept its own socket: plain HTTP still answers on the plain port.
        Assert.Equal(200, (await new MiniHttpClient(server.BaseAddress).GetAsync("/", closeAfter: true, CancellationToken.None)).Status);
    }

    /// <summary>An HTTP endpoint (the tests' base address) and an HTTPS one with PEM files from the work directory.</summary>
    /// <summary>samples/Hello on PEM endpoints (<see cref="PemEndpoints"/>), its first certificate issued to <paramref name="subject"/>; returns its thumbprint too.</summary>
    private static async Task<(ServerProcess Server, string Thumbprint)> StartWithPemAsync(string subject)
    {
        string thumbprint = null!;
        var server = await ServerProcess.StartAsync(
            SampleApp.Hello,
            PemEndpoints(),
            prepare: directory =>
            {
                thumbprint = TestCertificates.WritePem(Path.Combine(directory, "cert.pem"), Path.Combine(directory, "key.pem"), subject);
                return Task.CompletedTask;
            });
        return (server, thumbprint);
    }

    private static string[] PemEndpoints() =>
    [
        "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:0",
        "--Kestrel:Endpoints:Https:Url=https://127.0.0.1:0",
        "--Kestrel:Endpoints:Https:Certificate:Path=cert.pem",
        "--Kestrel:Endpoints:Https:Certificate:KeyPath=key.pem",
    ];

    private static int PidOf(string body) => int.Parse(PidRegex().Match(body).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex("\"pid\":(\\d+)")]
    private static partial Regex PidRegex();
}
