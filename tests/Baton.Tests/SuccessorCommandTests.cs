using Baton.Handover;
using Xunit;

namespace Baton.Tests;

public sealed class SuccessorCommandTests
{
    // /srv/app/current -> /srv/app/v1, as a deploy that switches a link and sends SIGHUP lays it out.
    private static readonly Dictionary<string, string> Links = new()
    {
        ["/srv/app/current"] = "/srv/app/v1",
        ["/srv/app/current/App"] = "/srv/app/v1/App",
        ["/srv/app/v1"] = "/srv/app/v1",
        ["/srv/app/v1/App"] = "/srv/app/v1/App",
        ["/usr/bin/dotnet"] = "/usr/share/dotnet/dotnet",
        ["/usr/share/dotnet/dotnet"] = "/usr/share/dotnet/dotnet",
        ["/tmp"] = "/tmp",
    };

    private static string? Resolve(string path) => Links.GetValueOrDefault(path);

    [Fact]
    public void A_native_binary_started_through_a_link_is_restarted_through_the_link()
    {
        var command = SuccessorCommand.Choose("/srv/app/v1/App", ["/srv/app/current/App", "--urls", "http://127.0.0.1:8000"], "/srv/app/v1", "/srv/app/current", Resolve);

        Assert.Equal("/srv/app/current/App", command.ExecutablePath);
        Assert.Equal("/srv/app/current", command.WorkingDirectory);
        Assert.Equal(["/srv/app/current/App", "--urls", "http://127.0.0.1:8000"], command.Arguments);
    }

    [Fact]
    public void A_relative_argv0_is_taken_from_the_directory_the_shell_was_in()
    {
        var command = SuccessorCommand.Choose("/srv/app/v1/App", ["./App"], "/srv/app/v1", "/srv/app/current", Resolve);

        Assert.Equal("/srv/app/current/App", command.ExecutablePath);
        Assert.Equal("./App", command.Arguments[0]);
    }

    [Fact]
    public void A_program_found_on_PATH_keeps_the_resolved_executable()
    {
        var command = SuccessorCommand.Choose("/usr/share/dotnet/dotnet", ["dotnet", "current/App.dll"], "/srv/app", "/srv/app", p => p == "/srv/app" ? "/srv/app" : Resolve(p));

        Assert.Equal("/usr/share/dotnet/dotnet", command.ExecutablePath);
        Assert.Equal("/srv/app", command.WorkingDirectory);
    }

    [Fact]
    public void A_stale_or_foreign_PWD_and_an_argv0_naming_another_file_are_not_trusted()
    {
        // PWD left over from a parent that cd'd elsewhere, and argv[0] set by the launcher to something else.
        var command = SuccessorCommand.Choose("/srv/app/v1/App", ["/tmp/other"], "/srv/app/v1", "/tmp", Resolve);

        Assert.Equal("/srv/app/v1/App", command.ExecutablePath);
        Assert.Equal("/srv/app/v1", command.WorkingDirectory);
    }
}
