using Baton.Handover;
using Baton.Health;
using Baton.Interop;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Baton.Tests;

/// <summary>What the readiness check answers at each step of a process's life, driven through the coordinator.</summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task Unready_while_starting_ready_through_a_handover_that_fails_and_unready_from_the_first_moment_of_a_stop()
    {
        var readiness = new BatonReadiness();
        var server = new FakeServer();
        var child = new FakeSuccessor(400);
        var coordinator = Create(server, new FakeLauncher().Then(child), readiness, drainDelay: TimeSpan.FromSeconds(30));
        var check = new BatonReadinessCheck(readiness, null, NullLogger.Instance);

        Assert.Equal(HealthStatus.Unhealthy, await StatusAsync(check));
        Assert.True(coordinator.OnServing());
        coordinator.NotifyServing();
        Assert.Equal(HealthStatus.Healthy, await StatusAsync(check));

        // While the new process starts this one serves, and serves on when it fails.
        var result = coordinator.RequestRestart();
        Assert.Equal(BatonState.HandingOver, coordinator.State);
        Assert.Equal(HealthStatus.Healthy, await StatusAsync(check));
        child.Die(new ChildExit(1, null));
        Assert.IsType<RestartFailed>(await result.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(HealthStatus.Healthy, await StatusAsync(check));

        // DrainDelay: unready at once, while the process still accepts.
        coordinator.Stop("SIGTERM");
        Assert.Equal(BatonState.Draining, coordinator.State);
        Assert.Equal(HealthStatus.Unhealthy, await StatusAsync(check));
        Assert.Empty(server.Calls);

        coordinator.Hammer();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HealthStatus.Unhealthy, await StatusAsync(check));
    }

    [Fact]
    public async Task A_process_that_handed_over_still_answers_ready_for_the_socket_its_successor_serves()
    {
        var readiness = new BatonReadiness();
        var server = new FakeServer();
        var child = new FakeSuccessor(401);
        var coordinator = Create(server, new FakeLauncher().Then(child), readiness);
        coordinator.OnServing();
        coordinator.NotifyServing();
        var check = new BatonReadinessCheck(readiness, null, NullLogger.Instance);

        var result = coordinator.RequestRestart();
        child.Say("ready 401 2");
        Assert.IsType<RestartSucceeded>(await result.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(BatonState.Draining, coordinator.State);
        Assert.Equal(HealthStatus.Healthy, await StatusAsync(check));

        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HealthStatus.Healthy, await StatusAsync(check));
    }

    [Fact]
    public async Task A_stop_before_the_process_serves_leaves_it_unready_even_if_serving_is_reported_late()
    {
        var readiness = new BatonReadiness();
        var server = new FakeServer();
        var coordinator = Create(server, new FakeLauncher(), readiness);
        var check = new BatonReadinessCheck(readiness, null, NullLogger.Instance);

        coordinator.Stop("SIGTERM");
        Assert.False(coordinator.OnServing());
        readiness.Serving(1);
        Assert.Equal(HealthStatus.Unhealthy, await StatusAsync(check));
        server.FinishDrain();
        await coordinator.Exited.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Registered_as_baton_with_the_ready_tag_and_without_UseBaton_it_follows_the_host_lifetime()
    {
        var lifetime = new FakeLifetime();
        await using var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IHostApplicationLifetime>(lifetime)
            .AddHealthChecks().AddBatonReadiness().Services
            .BuildServiceProvider();
        var health = services.GetRequiredService<HealthCheckService>();

        var report = await health.CheckHealthAsync();
        var entry = Assert.Single(report.Entries);
        Assert.Equal("baton", entry.Key);
        Assert.Equal(["ready"], entry.Value.Tags);
        Assert.Equal(HealthStatus.Unhealthy, entry.Value.Status);

        lifetime.Start();
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
        lifetime.BeginStopping();
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);
    }

    [Fact]
    public async Task With_UseBatons_readiness_registered_the_check_follows_it_and_not_the_host_lifetime()
    {
        var lifetime = new FakeLifetime();
        lifetime.Start();
        await using var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IHostApplicationLifetime>(lifetime)
            .AddSingleton<BatonReadiness>()
            .AddHealthChecks().AddBatonReadiness("custom", ["lb", "ready"]).Services
            .BuildServiceProvider();
        var health = services.GetRequiredService<HealthCheckService>();

        var entry = Assert.Single((await health.CheckHealthAsync()).Entries);
        Assert.Equal(("custom", HealthStatus.Unhealthy), (entry.Key, entry.Value.Status));
        Assert.Equal(["lb", "ready"], entry.Value.Tags.Order());

        services.GetRequiredService<BatonReadiness>().Serving(1);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
        services.GetRequiredService<BatonReadiness>().Stopping();
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);
    }

    private static async Task<HealthStatus> StatusAsync(IHealthCheck check) =>
        (await check.CheckHealthAsync(new HealthCheckContext())).Status;

    private static HandoverCoordinator Create(FakeServer server, FakeLauncher launcher, BatonReadiness readiness, TimeSpan drainDelay = default) =>
        new(server, new SuccessorLauncher(launcher, TimeProvider.System), TimeProvider.System, NullLogger.Instance, TimeSpan.FromSeconds(5),
            generation: 1, predecessor: null, new BatonObservers([readiness]), drainDelay);

    private sealed class FakeLifetime : IHostApplicationLifetime
    {
        private readonly CancellationTokenSource _started = new();
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => _started.Token;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void Start() => _started.Cancel();

        public void BeginStopping() => _stopping.Cancel();

        public void StopApplication() => _stopping.Cancel();
    }
}
