using System.Net;
using Baton.Handover;
using Baton.Interop;
using Xunit;

namespace Baton.Tests;

public sealed class HandoverEnvironmentTests
{
    private static readonly Func<int, DescriptorKind> AllListening = _ => DescriptorKind.ListeningStreamSocket;

    [Fact]
    public void No_variables_means_a_first_generation_process()
    {
        Assert.Null(HandoverEnvironment.Read(_ => null, AllListening, _ => true));
    }

    [Fact]
    public void Listeners_round_trip_through_the_variable()
    {
        var listeners = new[]
        {
            new InheritedListener(3, IPEndPoint.Parse("127.0.0.1:8000")),
            new InheritedListener(4, IPEndPoint.Parse("[::1]:8000")),
            new InheritedListener(5, new System.Net.Sockets.UnixDomainSocketEndPoint("/run/app.sock")),
        };
        var text = HandoverEnvironment.FormatListeners(listeners);
        Assert.Equal("3=tcp:127.0.0.1:8000;4=tcp:[::1]:8000;5=unix:/run/app.sock", text);

        var parsed = HandoverEnvironment.ParseListeners(text, AllListening);
        Assert.Equal(3, parsed.Count);
        Assert.All(parsed.Zip(listeners), pair =>
        {
            Assert.Equal(pair.Second.Descriptor, pair.First.Descriptor);
            Assert.True(InheritedListener.SameEndPoint(pair.Second.EndPoint, pair.First.EndPoint));
        });
    }

    [Fact]
    public void A_complete_environment_is_read()
    {
        var variables = new Dictionary<string, string>
        {
            [HandoverEnvironment.ListenersVariable] = "3=tcp:127.0.0.1:8000",
            [HandoverEnvironment.ReadyVariable] = "4",
            [HandoverEnvironment.GenerationVariable] = "7",
            [HandoverEnvironment.ParentVariable] = "1234",
        };
        var state = HandoverEnvironment.Read(n => variables.GetValueOrDefault(n), AllListening, fd => fd == 4)!;
        Assert.Equal(4, state.ReadyDescriptor);
        Assert.Equal(7, state.Generation);
        Assert.Equal(1234, state.ParentPid);
        Assert.Equal(3, Assert.Single(state.Listeners).Descriptor);
    }

    [Theory]
    [InlineData((int)DescriptorKind.NotOpen, "descriptor 3 (tcp:127.0.0.1:8000) is not open")]
    [InlineData((int)DescriptorKind.NotASocket, "descriptor 3 (tcp:127.0.0.1:8000) is not a socket")]
    [InlineData((int)DescriptorKind.NotListening, "is a socket that is not listening")]
    [InlineData((int)DescriptorKind.OtherSocket, "is not a stream socket")]
    public void A_descriptor_that_is_not_a_listening_socket_is_refused(int kind, string expected)
    {
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.ParseListeners("3=tcp:127.0.0.1:8000", _ => (DescriptorKind)kind));
        Assert.StartsWith(HandoverEnvironment.ListenersVariable + ":", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x", "entry 'x' is not of the form")]
    [InlineData("three=tcp:127.0.0.1:1", "'three' is not a whole number")]
    [InlineData("2=tcp:127.0.0.1:1", "'2' is not a whole number of at least 3")]
    [InlineData("3=udp:127.0.0.1:1", "is not an endpoint of the form")]
    [InlineData("3=tcp:127.0.0.1:1;3=tcp:127.0.0.1:2", "descriptor 3 is named twice")]
    public void Malformed_listener_lists_are_refused_with_the_variable_named(string text, string expected)
    {
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.ParseListeners(text, AllListening));
        Assert.Contains(HandoverEnvironment.ListenersVariable, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_partial_environment_names_what_is_missing()
    {
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.Read(
            n => n == HandoverEnvironment.ListenersVariable ? "3=tcp:127.0.0.1:1" : null, AllListening, _ => true));
        Assert.Contains(HandoverEnvironment.ReadyVariable, error.Message, StringComparison.Ordinal);
        Assert.Contains(HandoverEnvironment.GenerationVariable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ready_descriptor_that_is_not_writable_is_refused()
    {
        var variables = new Dictionary<string, string>
        {
            [HandoverEnvironment.ListenersVariable] = string.Empty,
            [HandoverEnvironment.ReadyVariable] = "9",
            [HandoverEnvironment.GenerationVariable] = "2",
        };
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.Read(n => variables.GetValueOrDefault(n), AllListening, _ => false));
        Assert.Equal("BATON_READY_FD=9: descriptor 9 is not open for writing.", error.Message);
    }

    [Theory]
    [InlineData("tcp:127.0.0.1:8000", "127.0.0.1:8000", true)]
    [InlineData("tcp:127.0.0.1:41234", "127.0.0.1:0", true)]
    [InlineData("tcp:127.0.0.1:8000", "127.0.0.1:8001", false)]
    [InlineData("tcp:[::1]:8000", "127.0.0.1:8000", false)]
    [InlineData("tcp:[::]:8000", "[::]:8000", true)]
    public void An_inherited_listener_serves_the_same_endpoint_or_any_port_request(string bound, string requested, bool serves)
    {
        Assert.True(InheritedListener.TryParseEndPoint(bound, out var boundEndPoint));
        Assert.Equal(serves, InheritedListener.Serves(boundEndPoint!, IPEndPoint.Parse(requested)));
    }
}
