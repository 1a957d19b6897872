using System.Diagnostics.Metrics;
using Baton.Draining;
using Baton.Handover;
using Baton.Health;
using Baton.Hosting;
using Baton.Interop;
using Baton.Kestrel;
using Baton.Metrics;
using Baton.Signals;
using Baton.Systemd;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Baton;

/// <summary>The one entry point: <c>builder.UseBaton()</c>.</summary>
public static class BatonHostingExtensions
{
    /// <summary>
    /// Serves the app through Baton: SIGHUP starts a new copy of the program that inherits the listening sockets
    /// and takes over once it serves; SIGTERM/SIGINT drain and stop; SIGUSR2 cuts a drain or a handover short.
    /// Options come from the <c>Baton</c> configuration section, then <paramref name="configure"/>.
    /// </summary>
    /// <remarks>
    /// Call it right after creating the builder: signals are handled from here on (before, SIGHUP and SIGTERM have
    /// their default action and end the process). Configuration files are read once at start (reload-on-change is
    /// turned off): a change is applied by SIGHUP, and a half-written file can never take a serving process down.
    /// Under systemd it needs nothing more: with NOTIFY_SOCKET set it tells a Type=notify unit READY=1, RELOADING=1,
    /// MAINPID= and STOPPING=1 (through the registered <c>ISystemdNotifier</c>), and it serves the listening sockets
    /// passed with LISTEN_FDS. Call it after <c>AddSystemd()</c>/<c>UseSystemd()</c> if the app calls those: a host
    /// lifetime registered after it fails the host's start.
    /// </remarks>
    /// <exception cref="BatonStartupException">
    /// Not on Linux, or the handover environment or the sockets passed with LISTEN_FDS are invalid.
    /// </exception>
    /// <exception cref="InvalidOperationException">UseBaton() was already called on this builder.</exception>
    public static WebApplicationBuilder UseBaton(this WebApplicationBuilder builder, Action<BatonOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!OperatingSystem.IsLinux())
        {
            throw new BatonStartupException(
                $"Baton is not supported on {System.Runtime.InteropServices.RuntimeInformation.OSDescription}: it hands listening sockets between processes with Linux system calls. Run without UseBaton() on this OS.");
        }

        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(BatonProcess)))
        {
            throw new InvalidOperationException(
                "UseBaton() was already called on this builder: call it once, and put every option in that one call (or in the \"Baton\" configuration section).");
        }

        // Standard descriptors closed at start, before anything else opens one: see StandardStreams.
        var streams = StandardStreams.Inspect();

        // Then, before the runtime sets up its own signal handling: restore signals ignored at start, and take them
        // over (see SignalRouter).
        var signals = new SignalRouter();

        // The start-up timeline's first two points: when the parent spawned this process (a successor only), and now.
        var timeline = new StartupTimeline(
            StartupTimeline.ParseSpawnedAt(Environment.GetEnvironmentVariable(HandoverVariables.SpawnedAt)), MonotonicClock.Microseconds());

        // Started with a lower priority (Baton:SuccessorNice): the nice value to take back once accepted.
        var restoreNice = int.TryParse(Environment.GetEnvironmentVariable(HandoverVariables.RestoreNice), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var nice)
            && nice is >= -20 and <= 19 ? nice : (int?)null;

        var leaveIdle = Environment.GetEnvironmentVariable(HandoverVariables.LeaveIdle) == "1";

        // Started ahead of any SIGHUP (Baton:Standby): it waits for its "go" as long as it takes.
        var standby = Environment.GetEnvironmentVariable(HandoverVariables.Standby) == "1";

        var checks = RealDescriptorChecks.Instance;
        var inherited = HandoverEnvironment.Read(Environment.GetEnvironmentVariable, checks);
        var control = inherited is null ? null : HandoverEnvironment.ReadOptional(HandoverEnvironment.ControlVariable, Environment.GetEnvironmentVariable, checks);
        var supervisor = HandoverEnvironment.ReadOptional(HandoverEnvironment.SupervisorVariable, Environment.GetEnvironmentVariable, checks);
        if (supervisor is { } supervisorFd)
        {
            Descriptors.SetCloseOnExec(supervisorFd, true);
        }

        // Sockets the service manager passed are the first generation's listeners; a successor has its own, and is
        // never passed any (they are gone from the environment it is started with).
        var activated = inherited is null
            ? SocketActivation.Read(Environment.GetEnvironmentVariable, RealDescriptorChecks.Instance, Environment.ProcessId)
            : ActivatedSockets.None;

        // Processes the app starts itself - through .NET or through native code - must not believe they are successors,
        // nor that the service manager's sockets are theirs. That includes every later generation.
        foreach (var variable in HandoverEnvironment.AllVariables.Concat(HandoverEnvironment.OptionalVariables).Concat(SocketActivation.AllVariables))
        {
            ProcessEnvironment.Unset(variable);
        }

        var process = new BatonProcess(SuccessorCommand.CaptureCurrent(), streams, inherited, control, supervisor, restoreNice, standby, leaveIdle);
        if (process.Successor is { } successor)
        {
            // A successor that dies while starting (say, Kestrel cannot bind a new endpoint) tells its parent why, so the
            // parent's log says it in one line, and exits with code 1 as a start that Baton sees fail does. Left to the
            // runtime, it would abort: SIGABRT, and a core dump of the whole process on every failed reload wherever
            // core dumps are collected (systemd-coredump). After "ready", the app's own crash behaviour is kept.
            AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            {
                var reason = e.ExceptionObject is Exception ex ? $"{ex.GetType().FullName}: {ex.Message}" : "unhandled exception";
                if (successor.ReportFailure(reason))
                {
                    // What the runtime would have printed before it aborted.
                    Console.Error.WriteLine($"Unhandled exception. {e.ExceptionObject}");
                    Environment.Exit(1);
                }
            };
        }

        StopReloadingConfigurationFiles(builder.Configuration);

        services.AddSingleton(process);
        services.AddSingleton(timeline);
        services.AddSingleton(signals);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(new ListenerRegistry(inherited, activated.Listeners));
        services.AddSingleton<ConnectionTracker>();
        services.AddSingleton<DrainController>();
        services.AddSingleton<ConnectionMover>();

        var optionsBuilder = services.AddOptions<BatonOptions>().BindConfiguration(BatonOptions.SectionName);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        optionsBuilder.ValidateOnStart();
        services.AddSingleton<IValidateOptions<BatonOptions>, BatonOptionsValidator>();
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, KestrelReloadSetup>();
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, KestrelLimitsSetup>();
        services.AddSingleton<IStartupFilter, DrainStartupFilter>();

        services.AddSingleton<IPostConfigureOptions<SocketTransportOptions>, ListenSocketSetup>();
        services.RemoveAll<IConnectionListenerFactory>();
        services.AddSingleton<IConnectionListenerFactory, BatonConnectionListenerFactory>();

        // What watches the coordinator's transitions: readiness for health checks (AddBatonReadiness), and the
        // "Baton" meter, created through the app's IMeterFactory like ASP.NET Core's own meters.
        services.AddMetrics();
        services.AddSingleton<BatonReadiness>();
        services.AddSingleton<IBatonObserver>(static sp => sp.GetRequiredService<BatonReadiness>());
        services.AddSingleton<IBatonObserver>(sp =>
        {
            var drain = sp.GetRequiredService<DrainController>();
            return new BatonMetrics(sp.GetRequiredService<IMeterFactory>(), process.Generation, () => drain.OpenConnections);
        });

        // The drain signal for long-lived connections: fired by the coordinator's Draining transition. It replaces one
        // AddBatonDrainSignal() registered earlier (that one follows ApplicationStopping, which under Baton comes only
        // after the drain).
        services.AddSingleton(static sp => new DrainSignal(sp.GetRequiredService<ILoggerFactory>().CreateLogger("Baton")));
        services.AddSingleton<IBatonObserver>(static sp => sp.GetRequiredService<DrainSignal>());
        services.RemoveAll<IBatonDrainSignal>();
        services.AddSingleton<IBatonDrainSignal>(static sp => sp.GetRequiredService<DrainSignal>());

        // systemd's notify protocol through the Microsoft.Extensions.Hosting.Systemd notifier: the one AddSystemd()
        // registered, one the app registers, or the package's (silent unless NOTIFY_SOCKET is set). Always, not only
        // when SystemdHelpers.IsSystemdService() says so: that looks at the parent process, which for a successor is
        // its predecessor.
        services.TryAddSingleton<ISystemdNotifier, SystemdNotifier>();
        services.AddSingleton<IBatonObserver, SystemdNotifications>();

        services.AddSingleton<BatonRuntime>();
        services.AddHostedService(sp => sp.GetRequiredService<BatonRuntime>());

        // Baton's lifetime replaces any registered so far, SystemdLifetime included (AddSystemd()/UseSystemd() before
        // UseBaton()): that one would say READY=1 at ApplicationStarted, also in a successor not yet told "go", and
        // STOPPING=1 at ApplicationStopping, also in a process that hands over. One registered after UseBaton() is
        // refused when the host starts (BatonRuntime.StartingAsync).
        services.RemoveAll<IHostLifetime>();
        services.AddSingleton<IHostLifetime, BatonHostLifetime>();
        services.AddHostedService(sp => new StartupNotes(
            sp.GetRequiredService<ILoggerFactory>(), streams.ClosedAtStart, activated, sp.GetRequiredService<ISystemdNotifier>(),
            sp.GetRequiredService<IOptions<KestrelServerOptions>>()));
        return builder;
    }

    /// <summary>
    /// Makes <see cref="IBatonDrainSignal"/> resolvable whether or not the app runs under <c>UseBaton()</c> (an app that
    /// calls <c>UseBaton()</c> only on Linux, or only in production): without Baton the signal follows
    /// <see cref="IHostApplicationLifetime.ApplicationStopping"/>; with Baton, in either order of the calls, Baton's
    /// signal is the one registered.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddBatonDrainSignal(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<IBatonDrainSignal>(static sp => new LifetimeDrainSignal(sp.GetRequiredService<IHostApplicationLifetime>()));
        return services;
    }

    private static void StopReloadingConfigurationFiles(ConfigurationManager configuration)
    {
        IList<IConfigurationSource> sources = ((IConfigurationBuilder)configuration).Sources;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is FileConfigurationSource { ReloadOnChange: true } file)
            {
                // A reload that meets a half-written appsettings.json throws on a file-watcher thread (the process
                // dies) or, when ignored, empties that file's settings in a process that is serving. Setting the source
                // back into the list makes the configuration rebuild its providers without the watcher.
                file.ReloadOnChange = false;
                sources[i] = file;
            }
        }
    }

    /// <summary>What UseBaton found before logging existed, said once the host starts (before Kestrel binds).</summary>
    private sealed class StartupNotes(
        ILoggerFactory loggerFactory, IReadOnlyList<int> closedAtStart, ActivatedSockets activated, ISystemdNotifier notifier, IOptions<KestrelServerOptions> kestrel)
        : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken)
        {
            var logger = loggerFactory.CreateLogger("Baton");
            if (closedAtStart.Count > 0)
            {
                Log.StandardDescriptorsClosed(logger, Environment.ProcessId, string.Join(", ", closedAtStart));
            }

            if (activated.Listeners.Count > 0)
            {
                Log.SocketsActivated(logger, Environment.ProcessId, activated.Listeners.Count, activated.Describe());
            }
            else if (activated.IgnoredBecause is { } reason)
            {
                Log.SocketActivationIgnored(logger, Environment.ProcessId, reason);
            }

            if (notifier.IsEnabled)
            {
                Log.NotifyingServiceManager(logger, Environment.ProcessId);
            }

            // KestrelReloadSetup turned it off; only the app's own ConfigureKestrel after UseBaton() turns it on again.
            if (kestrel.Value.ConfigurationLoader is { } loader && KestrelReloadSetup.Reloads(loader))
            {
                Log.KestrelReloadsOnChange(logger, Environment.ProcessId);
            }

            // Said where it matters: on a C library that needs the fallback.
            var spawn = SpawnSupport.Current;
            if (spawn.IsPortable)
            {
                Log.PortableSpawn(logger, Environment.ProcessId, spawn.Describe());
            }

            return Task.CompletedTask;
        }

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
