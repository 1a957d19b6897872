using System.Net;
using Baton.Handover;
using Baton.Interop;
using Xunit;

namespace Baton.Tests;

public sealed class HandoverEnvironmentTests
{
    private static readonly IReadOnlyDictionary<int, EndPoint> Bound = new Dictionary<int, EndPoint>
    {
        [3] = IPEndPoint.Parse("127.0.0.1:8000"),
        [4] = IPEndPoint.Parse("[::1]:8000"),
        [5] = new System.Net.Sockets.UnixDomainSocketEndPoint("/run/app.sock"),
    };

    private static readonly FakeChecks AllListening = new(bound: Bound) { Channels = [6] };

    private static Dictionary<string, string> Complete() => new()
    {
        [HandoverEnvironment.ListenersVariable] = "3=tcp:127.0.0.1:8000",
        [HandoverEnvironment.ChannelVariable] = "6",
        [HandoverEnvironment.StandardErrorVariable] = "7",
        [HandoverEnvironment.StandardErrorRelayVariable] = "8",
        [HandoverEnvironment.GenerationVariable] = "7",
        [HandoverEnvironment.ParentVariable] = "1234",
    };

    [Fact]
    public void No_variables_means_a_first_generation_process()
    {
        Assert.Null(HandoverEnvironment.Read(_ => null, AllListening));
    }

    [Fact]
    public void What_a_parent_writes_for_its_successor_is_what_the_successor_reads()
    {
        var listeners = new[]
        {
            new InheritedListener(40, IPEndPoint.Parse("127.0.0.1:8000")),
            new InheritedListener(41, IPEndPoint.Parse("[::1]:8000")),
            new InheritedListener(42, new System.Net.Sockets.UnixDomainSocketEndPoint("/run/app.sock")),
        };

        var (descriptors, variables) = HandoverEnvironment.ForSuccessor(listeners, channel: 50, standardError: 2, standardErrorRelay: 51, generation: 3, parentPid: 999);

        // Handed on in this order, they arrive as 3, 4, 5...
        Assert.Equal([40, 41, 42, 50, 2, 51], descriptors);
        var environment = variables.Select(v => v.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("3=tcp:127.0.0.1:8000;4=tcp:[::1]:8000;5=unix:/run/app.sock", environment[HandoverEnvironment.ListenersVariable]);
        var state = HandoverEnvironment.Read(environment.GetValueOrDefault, AllListening)!;
        Assert.Equal([3, 4, 5], state.Listeners.Select(l => l.Descriptor));
        Assert.All(state.Listeners.Zip(listeners), pair => Assert.True(InheritedListener.SameEndPoint(pair.Second.EndPoint, pair.First.EndPoint)));
        Assert.Equal((6, 7, 8, 3, 999), (state.ChannelDescriptor, state.StandardErrorDescriptor, state.StandardErrorRelayDescriptor, state.Generation, state.ParentPid));
        Assert.Equal(HandoverEnvironment.AllVariables.Append(HandoverVariables.SpawnedAt).Order(), environment.Keys.Order());

        // When it was spawned, on the clock every process shares: the start of the successor's start-up timeline.
        var spawnedAt = long.Parse(environment[HandoverVariables.SpawnedAt], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(Interop.MonotonicClock.Microseconds() - spawnedAt, 0, 60_000_000);
    }

    [Fact]
    public void The_control_socket_and_the_supervisor_channel_are_passed_on_after_the_rest_when_there_are_some()
    {
        var (descriptors, variables) = HandoverEnvironment.ForSuccessor(
            [new InheritedListener(40, IPEndPoint.Parse("127.0.0.1:8000"))], channel: 50, standardError: 2, standardErrorRelay: 51, generation: 2, parentPid: 9, control: 60, supervisor: 61);
        Assert.Equal([40, 50, 2, 51, 60, 61], descriptors);
        var environment = variables.Select(v => v.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("7", environment[HandoverEnvironment.ControlVariable]);
        Assert.Equal("8", environment[HandoverEnvironment.SupervisorVariable]);

        (descriptors, variables) = HandoverEnvironment.ForSuccessor([], 50, 2, 51, 2, 9);
        Assert.Equal([50, 2, 51], descriptors);
        Assert.DoesNotContain(variables, v => v.StartsWith(HandoverEnvironment.ControlVariable, StringComparison.Ordinal));

        Assert.Equal(8, HandoverEnvironment.ReadOptional(HandoverEnvironment.SupervisorVariable, environment.GetValueOrDefault, AllListening));
        Assert.Null(HandoverEnvironment.ReadOptional(HandoverEnvironment.SupervisorVariable, _ => null, AllListening));
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.ReadOptional(
            HandoverEnvironment.SupervisorVariable, _ => "8", new FakeChecks { Closed = [8] }));
        Assert.Equal("BATON_SUPERVISOR_FD=8: descriptor 8 is not open.", error.Message);
    }

    [Theory]
    [InlineData((int)DescriptorKind.NotOpen, "descriptor 3 (tcp:127.0.0.1:8000) is not open")]
    [InlineData((int)DescriptorKind.NotASocket, "descriptor 3 (tcp:127.0.0.1:8000) is not a socket")]
    [InlineData((int)DescriptorKind.NotListening, "is a socket that is not listening")]
    [InlineData((int)DescriptorKind.OtherSocket, "is not a stream socket")]
    public void A_descriptor_that_is_not_a_listening_socket_is_refused(int kind, string expected)
    {
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.ParseListeners("3=tcp:127.0.0.1:8000", new FakeChecks(_ => (DescriptorKind)kind, Bound)));
        Assert.StartsWith(HandoverEnvironment.ListenersVariable + ":", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("3=tcp:127.0.0.1:9000", "descriptor 3 (tcp:127.0.0.1:9000) is bound to tcp:127.0.0.1:8000, not to tcp:127.0.0.1:9000.")]
    [InlineData("4=tcp:127.0.0.1:8000", "descriptor 4 (tcp:127.0.0.1:8000) is bound to tcp:[::1]:8000, not to tcp:127.0.0.1:8000.")]
    [InlineData("5=unix:/run/other.sock", "descriptor 5 (unix:/run/other.sock) is bound to unix:/run/app.sock, not to unix:/run/other.sock.")]
    [InlineData("9=tcp:127.0.0.1:8000", "descriptor 9 (tcp:127.0.0.1:8000) is bound to an address Baton cannot read, not to tcp:127.0.0.1:8000.")]
    public void A_listener_bound_elsewhere_than_the_variable_claims_is_refused(string text, string expected)
    {
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.ParseListeners(text, AllListening));
        Assert.Equal($"{HandoverEnvironment.ListenersVariable}: {expected}", error.Message);
    }

    [Theory]
    [InlineData("x", "entry 'x' is not of the form")]
    [InlineData("three=tcp:127.0.0.1:1", "'three' is not a whole number")]
    [InlineData("2=tcp:127.0.0.1:1", "'2' is not a whole number of at least 3")]
    [InlineData("3=udp:127.0.0.1:1", "is not an endpoint of the form")]
    [InlineData("3=tcp:127.0.0.1:8000;3=tcp:127.0.0.1:8000", "descriptor 3 is named twice")]
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
            n => n == HandoverEnvironment.ListenersVariable ? "3=tcp:127.0.0.1:1" : null, AllListening));
        Assert.Contains(HandoverEnvironment.ChannelVariable, error.Message, StringComparison.Ordinal);
        Assert.Contains(HandoverEnvironment.GenerationVariable, error.Message, StringComparison.Ordinal);
        Assert.Contains(HandoverEnvironment.StandardErrorRelayVariable, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(HandoverEnvironment.ListenersVariable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_channel_descriptor_that_is_not_a_connected_socket_is_refused()
    {
        var variables = Complete();
        variables[HandoverEnvironment.ChannelVariable] = "9";
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.Read(variables.GetValueOrDefault, AllListening));
        Assert.Equal("BATON_CHANNEL_FD=9: descriptor 9 is not a connected stream socket open for reading and writing.", error.Message);
    }

    [Fact]
    public void A_closed_standard_error_descriptor_is_refused()
    {
        var checks = new FakeChecks(bound: Bound) { Channels = [6], Closed = [8] };
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.Read(Complete().GetValueOrDefault, checks));
        Assert.Equal("BATON_STDERR_RELAY_FD=8: descriptor 8 is not open.", error.Message);
    }

    [Fact]
    public void One_descriptor_named_for_two_purposes_is_refused()
    {
        var variables = Complete();
        variables[HandoverEnvironment.StandardErrorVariable] = "3";
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.Read(variables.GetValueOrDefault, AllListening));
        Assert.Equal("BATON_STDERR_FD: descriptor 3 is also named in BATON_LISTEN_FDS.", error.Message);
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
