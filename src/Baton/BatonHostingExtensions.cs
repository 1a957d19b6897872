using Baton.Draining;
using Baton.Handover;
using Baton.Hosting;
using Baton.Interop;
using Baton.Kestrel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Baton;

/// <summary>The one entry point: <c>builder.UseBaton()</c>.</summary>
public static class BatonHostingExtensions
{
    /// <summary>
    /// Serves the app through Baton: SIGHUP starts a new copy of the program that inherits the listening sockets
    /// and takes over once it serves; SIGTERM/SIGINT drain and stop; SIGUSR2 cuts a drain short. Options come from
    /// the <c>Baton</c> configuration section, then <paramref name="configure"/>.
    /// </summary>
    /// <remarks>
    /// Configuration files are read once at start (reload-on-change is turned off): a change is applied by SIGHUP,
    /// and a half-written file can never take a serving process down.
    /// </remarks>
    /// <exception cref="BatonStartupException">Not on Linux, or the handover environment this process was given is invalid.</exception>
    public static WebApplicationBuilder UseBaton(this WebApplicationBuilder builder, Action<BatonOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!OperatingSystem.IsLinux())
        {
            throw new BatonStartupException(
                $"Baton is not supported on {System.Runtime.InteropServices.RuntimeInformation.OSDescription}: it hands listening sockets between processes with Linux system calls. Run without UseBaton() on this OS.");
        }

        // First of all: the runtime decides whether it handles SIGINT/SIGQUIT when it sets up signal handling, and
        // an ignore inherited from nohup or `cmd &` must be gone by then (see SignalDispositions).
        foreach (var (_, number, _) in Signals.SignalRouter.Handled)
        {
            SignalDispositions.RestoreDefaultIfIgnored(number);
        }

        var inherited = HandoverEnvironment.Read(
            Environment.GetEnvironmentVariable,
            Descriptors.Classify,
            fd => Descriptors.IsWriteOnly(fd));

        // Processes the app starts itself must not believe they are Baton successors.
        foreach (var variable in HandoverEnvironment.AllVariables)
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        var context = new HandoverContext(SuccessorCommand.CaptureCurrent(), inherited);
        if (inherited is not null)
        {
            // A successor that dies while starting tells its parent why, so the parent's log says it in one line.
            AppDomain.CurrentDomain.UnhandledException += (_, e) =>
                context.ReportFailure(e.ExceptionObject is Exception ex ? $"{ex.GetType().FullName}: {ex.Message}" : "unhandled exception");
        }

        StopReloadingConfigurationFiles(builder.Configuration);

        var services = builder.Services;
        services.AddSingleton(context);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(new ListenerRegistry(inherited));
        services.AddSingleton<ConnectionTracker>();
        services.AddSingleton<DrainController>();

        var optionsBuilder = services.AddOptions<BatonOptions>().BindConfiguration(BatonOptions.SectionName);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        optionsBuilder.ValidateOnStart();
        services.AddSingleton<IValidateOptions<BatonOptions>, BatonOptionsValidator>();
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>, KestrelLimitsSetup>();
        services.AddRequestTimeouts();
        services.AddSingleton<IConfigureOptions<RequestTimeoutOptions>, RequestTimeoutsSetup>();
        services.AddSingleton<IStartupFilter, DrainStartupFilter>();

        services.AddSingleton<IPostConfigureOptions<SocketTransportOptions>, ListenSocketSetup>();
        services.RemoveAll<IConnectionListenerFactory>();
        services.AddSingleton<IConnectionListenerFactory, BatonConnectionListenerFactory>();

        services.AddSingleton<BatonRuntime>();
        services.AddHostedService(sp => sp.GetRequiredService<BatonRuntime>());
        services.RemoveAll<IHostLifetime>();
        services.AddSingleton<IHostLifetime, BatonHostLifetime>();
        return builder;
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
}

/// <summary>Kestrel's listen-socket seam: an inherited socket when one serves the endpoint, else a fresh bind.</summary>
internal sealed class ListenSocketSetup(ListenerRegistry registry, HandoverContext context, Microsoft.Extensions.Logging.ILoggerFactory loggerFactory)
    : IPostConfigureOptions<SocketTransportOptions>
{
    public void PostConfigure(string? name, SocketTransportOptions options)
    {
        var bindFresh = options.CreateBoundListenSocket;
        var logger = loggerFactory.CreateLogger("Baton");
        options.CreateBoundListenSocket = endPoint =>
        {
            var socket = registry.CreateListenSocket(endPoint, bindFresh, out var adopted);
            if (adopted is not null)
            {
                Log.AdoptedListener(logger, Environment.ProcessId, adopted.Describe(), context.Inherited?.ParentPid ?? 0);
            }

            return socket;
        };
    }
}
