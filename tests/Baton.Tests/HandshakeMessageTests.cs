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
