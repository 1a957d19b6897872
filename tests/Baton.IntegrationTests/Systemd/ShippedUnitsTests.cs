using System.Diagnostics;
using Baton.IntegrationTests.Infrastructure;
using Xunit;

namespace Baton.IntegrationTests.Systemd;

/// <summary>The units in docs/systemd are checked by systemd itself, as shipped.</summary>
public sealed class ShippedUnitsTests
{
    [Fact]
    public async Task The_units_in_docs_systemd_pass_systemd_analyze_verify_without_a_finding()
    {
        // scripts/test.sh installs the Debian package systemd, which brings systemd-analyze (nothing needs to run).
        var start = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(SampleApp.RepositoryRoot, "docs", "systemd", "verify.sh"));
        using var verify = Process.Start(start)!;
        var output = verify.StandardOutput.ReadToEndAsync();
        var errors = verify.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await verify.WaitForExitAsync(timeout.Token);

        Assert.True(verify.ExitCode == 0, await output + await errors);
        Assert.Equal("verified: hello-supervised.service hello.service hello.socket\n", await output);
    }
}
