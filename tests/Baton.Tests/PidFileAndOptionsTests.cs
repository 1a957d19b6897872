using Baton.Hosting;
using Xunit;

namespace Baton.Tests;

public sealed class PidFileAndOptionsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("baton-unit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_pid_file_is_replaced_whole_and_leaves_no_temporary_file()
    {
        var pidFile = new PidFile(Path.Combine(_directory, "app.pid"));
        pidFile.Write(100);
        pidFile.Write(200);

        Assert.Equal("200\n", File.ReadAllText(pidFile.Path));
        Assert.Equal(["app.pid"], Directory.GetFiles(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public void An_old_process_never_deletes_its_successors_pid_file()
    {
        var pidFile = new PidFile(Path.Combine(_directory, "app.pid"));
        pidFile.Write(200);

        pidFile.DeleteIfOwnedBy(100);
        Assert.True(File.Exists(pidFile.Path));
        pidFile.DeleteIfOwnedBy(200);
        Assert.False(File.Exists(pidFile.Path));
    }

    [Fact]
    public void Defaults_are_valid()
    {
        var options = new BatonOptions();
        Assert.True(new BatonOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(TimeSpan.FromSeconds(30), options.ReadyTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), options.HammerTime);
        Assert.Null(options.MaxHeaderBytes);
    }

    [Fact]
    public void Every_bad_value_is_named()
    {
        var options = new BatonOptions
        {
            ReadyTimeout = TimeSpan.Zero,
            HammerTime = TimeSpan.FromSeconds(-1),
            ReadTimeout = TimeSpan.Zero,
            WriteTimeout = TimeSpan.FromSeconds(-5),
            MaxHeaderBytes = 0,
            PidFile = Path.Combine(_directory, "missing", "app.pid"),
        };

        var result = new BatonOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        foreach (var name in new[] { "Baton:ReadyTimeout", "Baton:HammerTime", "Baton:ReadTimeout", "Baton:WriteTimeout", "Baton:MaxHeaderBytes", "Baton:PidFile" })
        {
            Assert.Contains(name, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_warm_up_path_that_is_not_one_or_a_timeout_that_is_not_positive_is_named()
    {
        // A WarmUpTimeout longer than ReadyTimeout is fine: the warm-up takes at most half of ReadyTimeout.
        var options = new BatonOptions { WarmUp = true, WarmUpTimeout = TimeSpan.Zero, ReadyTimeout = TimeSpan.FromSeconds(1) };
        options.WarmUpPaths.Add("/");
        options.WarmUpPaths.Add("api/v1/tags");
        options.WarmUpPaths.Add("/a b");

        var result = new BatonOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Baton:WarmUpTimeout must be positive", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("Baton:ReadyTimeout", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("\"api/v1/tags\" is not a path", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("\"/a b\" is not a path", result.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("\"/\" is not", result.FailureMessage, StringComparison.Ordinal);
        Assert.False(new BatonOptions().WarmUp, "off unless asked: Baton does not call an app's endpoints unasked");
    }

    [Fact]
    public void A_standby_nice_value_out_of_range_or_an_empty_watched_file_is_named()
    {
        var options = new BatonOptions { Standby = true, StandbyNice = 20 };
        options.StandbyWatch.Add("secrets/db-password");
        options.StandbyWatch.Add(" ");

        var result = new BatonOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Baton:StandbyNice must be between 0 and 19 (got 20)", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Baton:StandbyWatch: an entry is empty", result.FailureMessage, StringComparison.Ordinal);
        Assert.Equal((false, 19, true), (new BatonOptions().Standby, new BatonOptions().StandbyNice, new BatonOptions().StandbyIdle));
    }
}
