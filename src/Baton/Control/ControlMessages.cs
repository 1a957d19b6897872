using System.Text.Json.Serialization;

namespace Baton.Control;

/// <summary>
/// The control channel: a Unix stream socket beside the pid file (<c>app.pid</c> -> <c>app.pid.sock</c>, mode 0600),
/// answered by whichever process serves. A client sends one request line and reads one JSON line back.
/// </summary>
internal static class ControlProtocol
{
    public const string Status = "status";
    public const string Reload = "reload";
    public const string Stop = "stop";
    public const string Hammer = "hammer";

    /// <summary>Longest path a Unix socket address holds (sun_path, with its terminating NUL).</summary>
    public const int MaxPathBytes = 107;

    public static string SocketPathFor(string pidFile) => Path.GetFullPath(pidFile) + ".sock";
}

/// <summary>The one JSON object every request is answered with; fields a request does not concern are null.</summary>
internal sealed class ControlResponse
{
    /// <summary>ok, failed, deferred, refused, stopping, error.</summary>
    public string Result { get; set; } = "ok";

    /// <summary>Why, when the result is not ok.</summary>
    public string? Reason { get; set; }

    /// <summary>The process that answered.</summary>
    public int Pid { get; set; }

    public ControlStatus? Status { get; set; }

    /// <summary>After a reload: the new process.</summary>
    public int? NewPid { get; set; }

    public int? NewGeneration { get; set; }

    public double? ElapsedMs { get; set; }
}

/// <summary>What <c>baton status</c> shows.</summary>
internal sealed class ControlStatus
{
    public int Pid { get; set; }

    public int Generation { get; set; }

    public string State { get; set; } = string.Empty;

    public DateTimeOffset StartedAt { get; set; }

    public double UptimeSeconds { get; set; }

    public IReadOnlyList<string> Addresses { get; set; } = [];

    public int Connections { get; set; }

    public int RequestsInFlight { get; set; }

    /// <summary>The process this one took over from, while it still drains.</summary>
    public DrainingProcess? Draining { get; set; }

    public ReloadRecord? LastReload { get; set; }

    /// <summary>The standby (Baton:Standby) the next restart hands over to, if there is one now.</summary>
    public StandbyProcess? Standby { get; set; }
}

internal sealed class StandbyProcess
{
    public int Pid { get; set; }

    /// <summary>False while it still starts.</summary>
    public bool Ready { get; set; }
}

internal sealed class DrainingProcess
{
    public int Pid { get; set; }

    public int? Connections { get; set; }
}

internal sealed class ReloadRecord
{
    /// <summary>ok, failed, deferred.</summary>
    public string Result { get; set; } = string.Empty;

    public DateTimeOffset At { get; set; }

    /// <summary>For ok: the process that took over (this one, when it is the new process).</summary>
    public int? Pid { get; set; }

    public string? Reason { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ControlResponse))]
internal sealed partial class ControlJson : JsonSerializerContext;
