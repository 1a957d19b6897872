using Baton.Handover;
using Xunit;

namespace Baton.Tests;

public sealed class HandshakeMessageTests
{
    [Fact]
    public void Ready_round_trips()
    {
        var line = HandshakeMessage.Ready(4242, 3);
        Assert.Equal("ready 4242 3\n", line);
        Assert.Equal(new ReadyMessage(4242, 3), HandshakeMessage.Parse(line.TrimEnd('\n')));
    }

    [Fact]
    public void A_failure_reason_stays_on_one_line()
    {
        var line = HandshakeMessage.Failed("System.IO.InvalidDataException: bad\nline two");
        Assert.Equal("failed System.IO.InvalidDataException: bad line two\n", line);
        Assert.Equal(new FailedMessage("System.IO.InvalidDataException: bad line two"), HandshakeMessage.Parse(line.TrimEnd('\n')));
    }

    [Theory]
    [InlineData("ready x 2")]
    [InlineData("hello")]
    public void Anything_else_is_a_failure_naming_the_line(string line)
    {
        var failed = Assert.IsType<FailedMessage>(HandshakeMessage.Parse(line));
        Assert.Contains(line, failed.Reason, StringComparison.Ordinal);
    }
}

public sealed class StandardErrorRelayTests
{
    [Fact]
    public void An_unhandled_exception_is_summarized_with_its_causes_and_without_its_stack()
    {
        const string output = """
            Unhandled exception. System.IO.InvalidDataException: Failed to load configuration from file '/app/appsettings.json'.
             ---> System.FormatException: Could not parse the JSON file.
               at Microsoft.Extensions.Configuration.Json.JsonConfigurationFileParser.ParseStream(Stream input)
               --- End of inner exception stack trace ---
            """;

        Assert.Equal(
            "Unhandled exception. System.IO.InvalidDataException: Failed to load configuration from file '/app/appsettings.json'. ---> System.FormatException: Could not parse the JSON file.",
            Baton.Handover.StandardErrorRelay.Summarize(output));
    }

    [Fact]
    public void Otherwise_the_last_line_that_is_not_a_stack_frame_is_kept()
    {
        Assert.Equal("fatal: cannot open database", Baton.Handover.StandardErrorRelay.Summarize("starting\nfatal: cannot open database\n   at X.Y()\n"));
        Assert.Null(Baton.Handover.StandardErrorRelay.Summarize("\n\n"));
    }

    [Fact]
    public void The_parents_answers_round_trip()
    {
        Assert.IsType<GoMessage>(HandshakeMessage.Parse(HandshakeMessage.Go.TrimEnd('\n')));
        Assert.Equal(new DrainingMessage(17), HandshakeMessage.Parse(HandshakeMessage.Draining(17).TrimEnd('\n')));
        Assert.IsType<FailedMessage>(HandshakeMessage.Parse("draining many"));
    }
}
