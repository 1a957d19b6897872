using System.Net;
using Baton;
using Baton.Handover;
using Baton.Interop;
using Baton.Systemd;
using Xunit;

namespace Baton.Tests;

/// <summary>LISTEN_FDS / LISTEN_PID / LISTEN_FDNAMES, read the way sd_listen_fds reads them, checked against the kernel (faked).</summary>
public sealed class SocketActivationTests
{
    private const int Pid = 4242;

    private static readonly FakeChecks Listening = new(bound: new Dictionary<int, EndPoint>
    {
        [3] = IPEndPoint.Parse("127.0.0.1:8080"),
        [4] = new System.Net.Sockets.UnixDomainSocketEndPoint("/run/app.sock"),
    });

    [Fact]
    public void Sockets_for_this_pid_are_its_listeners_in_order_with_their_names()
    {
        var sockets = SocketActivation.Read(Variables(("LISTEN_PID", "4242"), ("LISTEN_FDS", "2"), ("LISTEN_FDNAMES", "http:admin")), Listening, Pid);
        Assert.Equal([3, 4], sockets.Listeners.Select(l => l.Descriptor));
        Assert.All(sockets.Listeners, l => Assert.True(l.Activated));
        Assert.Equal("3=tcp:127.0.0.1:8080 (http), 4=unix:/run/app.sock (admin)", sockets.Describe());
        Assert.Null(sockets.IgnoredBecause);
    }

    [Fact]
    public void Nothing_set_means_nothing_passed_and_LISTEN_PID_unset_or_another_pid_is_ignored_with_the_reason()
    {
        Assert.Same(ActivatedSockets.None, SocketActivation.Read(Variables(), Listening, Pid));

        var unset = SocketActivation.Read(Variables(("LISTEN_FDS", "1")), Listening, Pid);
        Assert.Empty(unset.Listeners);
        Assert.Equal("LISTEN_FDS=1 ignored: LISTEN_PID is not set", unset.IgnoredBecause);

        // The descriptors are not even looked at: they belong to the process named.
        var other = SocketActivation.Read(Variables(("LISTEN_PID", "17"), ("LISTEN_FDS", "1")), new FakeChecks(_ => DescriptorKind.NotOpen), Pid);
        Assert.Empty(other.Listeners);
        Assert.Equal("LISTEN_FDS=1 ignored: LISTEN_PID=17 names another process", other.IgnoredBecause);
    }

    [Theory]
    [InlineData("4242", "x", null, "LISTEN_FDS: 'x' is not a number of descriptors.")]
    [InlineData("4242", "-1", null, "LISTEN_FDS: '-1' is not a number of descriptors.")]
    [InlineData("4242", "100000", null, "LISTEN_FDS: '100000' is not a number of descriptors.")]
    [InlineData("pid", "1", null, "LISTEN_PID: 'pid' is not a process id.")]
    [InlineData("4242", "2", "http", "LISTEN_FDNAMES: 1 name(s) for LISTEN_FDS=2 descriptor(s); the service manager passes one name per descriptor.")]
    public void Malformed_variables_fail_naming_the_variable(string pid, string fds, string? names, string expected)
    {
        var error = Assert.Throws<BatonStartupException>(() =>
            SocketActivation.Read(Variables(("LISTEN_PID", pid), ("LISTEN_FDS", fds), ("LISTEN_FDNAMES", names)), Listening, Pid));
        Assert.Equal(expected, error.Message);
    }

    [Theory]
    [InlineData((int)DescriptorKind.NotOpen, "descriptor 4 ('admin') is not open")]
    [InlineData((int)DescriptorKind.NotASocket, "descriptor 4 ('admin') is not a socket")]
    [InlineData((int)DescriptorKind.OtherSocket, "descriptor 4 ('admin') is not a stream socket (Baton serves ListenStream= sockets)")]
    [InlineData((int)DescriptorKind.NotListening, "descriptor 4 ('admin') is a socket that is not listening (Baton needs the listening socket itself: Accept=no)")]
    public void A_descriptor_that_is_not_a_listening_stream_socket_fails_naming_LISTEN_FDS(int kind, string expected)
    {
        var checks = new FakeChecks(fd => fd == 4 ? (DescriptorKind)kind : DescriptorKind.ListeningStreamSocket, new Dictionary<int, EndPoint> { [3] = IPEndPoint.Parse("127.0.0.1:8080") });
        var error = Assert.Throws<BatonStartupException>(() =>
            SocketActivation.Read(Variables(("LISTEN_PID", "4242"), ("LISTEN_FDS", "2"), ("LISTEN_FDNAMES", "http:admin")), checks, Pid));
        Assert.Equal($"LISTEN_FDS=2: {expected}. Fix the .socket unit, or unset LISTEN_FDS and LISTEN_PID to start without socket activation.", error.Message);
    }

    [Fact]
    public void A_socket_bound_to_an_address_Baton_cannot_serve_fails()
    {
        var error = Assert.Throws<BatonStartupException>(() =>
            SocketActivation.Read(Variables(("LISTEN_PID", "4242"), ("LISTEN_FDS", "1")), new FakeChecks(), Pid));
        Assert.StartsWith("LISTEN_FDS=1: descriptor 3 is bound to an address Baton cannot serve", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Activated_listeners_stay_marked_through_a_handover_and_a_bad_mark_is_refused()
    {
        var listeners = new[]
        {
            new InheritedListener(40, IPEndPoint.Parse("127.0.0.1:8080")) { Activated = true },
            new InheritedListener(41, IPEndPoint.Parse("127.0.0.1:9090")),
        };
        var (_, variables) = HandoverEnvironment.ForSuccessor(listeners, channel: 50, standardError: 2, standardErrorRelay: 51, generation: 2, parentPid: 9);
        var environment = variables.Select(v => v.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("3", environment[HandoverEnvironment.ActivatedVariable]);

        var checks = new FakeChecks(bound: new Dictionary<int, EndPoint> { [3] = IPEndPoint.Parse("127.0.0.1:8080"), [4] = IPEndPoint.Parse("127.0.0.1:9090") }) { Channels = [5] };
        var state = HandoverEnvironment.Read(environment.GetValueOrDefault, checks)!;
        Assert.Equal([true, false], state.Listeners.Select(l => l.Activated));

        // From a parent that did not send it: nothing is marked.
        environment.Remove(HandoverEnvironment.ActivatedVariable);
        Assert.All(HandoverEnvironment.Read(environment.GetValueOrDefault, checks)!.Listeners, l => Assert.False(l.Activated));

        environment[HandoverEnvironment.ActivatedVariable] = "6";
        var error = Assert.Throws<BatonStartupException>(() => HandoverEnvironment.Read(environment.GetValueOrDefault, checks));
        Assert.Equal("BATON_ACTIVATED_FDS: descriptor 6 is not one of the listeners in BATON_LISTEN_FDS.", error.Message);
    }

    private static Func<string, string?> Variables(params (string Name, string? Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;
}
