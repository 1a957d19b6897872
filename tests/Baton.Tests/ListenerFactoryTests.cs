using System.Net;
using System.Net.Sockets;
using Baton.Handover;
using Baton.Kestrel;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;

namespace Baton.Tests;

/// <summary>
/// Listeners Kestrel binds after the process has opened its gates or stopped accepting: only an app that turned
/// Kestrel's own reload back on binds that late, and the new listener must follow the process, not its birth.
/// </summary>
public sealed class ListenerFactoryTests
{
    private static readonly EndPoint AnyLoopbackPort = new IPEndPoint(IPAddress.Loopback, 0);

    [Fact]
    public async Task A_listener_bound_after_a_successor_opened_its_gates_accepts()
    {
        var registry = SuccessorRegistry();
        var factory = Factory(registry);
        registry.OpenGates();

        await using var listener = await factory.BindAsync(AnyLoopbackPort);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.EndPoint);

        // Before the fix it was created with its gate closed, as at a successor's start, and nothing ever opened it.
        var accepted = await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(accepted);
        await accepted.DisposeAsync();
    }

    [Fact]
    public async Task A_listener_bound_before_a_successor_opens_its_gates_waits_for_them()
    {
        var registry = SuccessorRegistry();
        var factory = Factory(registry);

        await using var listener = await factory.BindAsync(AnyLoopbackPort);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.EndPoint);
        var accepting = listener.AcceptAsync().AsTask();
        await Task.Delay(200);
        Assert.False(accepting.IsCompleted, "accepted before the gates opened");

        registry.OpenGates();
        var accepted = await accepting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(accepted);
        await accepted.DisposeAsync();
    }

    [Fact]
    public async Task A_listener_bound_while_the_process_drains_takes_nothing_and_leaves_no_socket_open()
    {
        var registry = new ListenerRegistry(inherited: null);
        var factory = Factory(registry);
        Assert.Empty(registry.StopAccepting());

        await using var listener = await factory.BindAsync(AnyLoopbackPort);

        Assert.Null(await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(async () => await client.ConnectAsync(listener.EndPoint));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    private static ListenerRegistry SuccessorRegistry() =>
        new(new InheritedState([], ChannelDescriptor: -1, Generation: 2, ParentPid: 1, StandardErrorDescriptor: 2, StandardErrorRelayDescriptor: -1));

    private static BatonConnectionListenerFactory Factory(ListenerRegistry registry)
    {
        var transport = new SocketTransportOptions();
        new ListenSocketSetup(registry, NullLoggerFactory.Instance).PostConfigure(null, transport);
        return new BatonConnectionListenerFactory(
            Options.Create(transport), NullLoggerFactory.Instance, registry, new ConnectionTracker(),
            new ConnectionMover(Options.Create(new BatonOptions()), NullLoggerFactory.Instance));
    }
}
