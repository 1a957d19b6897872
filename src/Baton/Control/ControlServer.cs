using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Baton.Draining;
using Baton.Handover;
using Baton.Interop;
using Microsoft.Extensions.Logging;

namespace Baton.Control;

/// <summary>What the control channel asks of the process that answers it.</summary>
internal interface IControlTarget
{
    ControlStatus Status();

    Task<RestartResult> RestartAsync();

    void Stop(bool hammer);
}

/// <summary>
/// Answers the control channel (see <see cref="ControlProtocol"/>) while this process is the one that serves: the first
/// generation from when it serves, a successor from its "go"; the process that hands over stops answering right before
/// its successor starts. The listening socket is handed to every successor like a listener, so its path never
/// disappears; only a final stop removes it.
/// </summary>
/// <remarks>
/// Only the same user (or root) gets an answer: the socket file is mode 0600, and each peer's credentials
/// (SO_PEERCRED) are checked as well, since a file mode is only as good as the directory it is in.
/// </remarks>
internal sealed class ControlServer : IBatonObserver, IDisposable
{
    private static readonly TimeSpan PollSlice = TimeSpan.FromMilliseconds(200);

    // A socket handed over is never disposed (the runtime would unlink the path its successor answers on): kept
    // reachable here so no finalizer ever runs for it either.
    private static readonly List<Socket> HandedOver = [];

    private Socket? _socket;
    private readonly bool _boundHere;
    private readonly ILogger _logger;
    private readonly uint _ownUser;
    private IControlTarget? _target;
    private volatile bool _answering;
    private volatile bool _handedOver;
    private readonly Lock _loopGate = new();
    private Thread? _loop;
    private bool _loopRunning;
    private bool _detached;
    private ReloadRecord? _lastReload;
    private int _answersInFlight;

    private ControlServer(Socket? socket, string path, bool boundHere, ILogger logger)
    {
        _socket = socket;
        Path = path;
        _boundHere = boundHere;
        _logger = logger;
        _ownUser = ProcessIdentity.EffectiveUserId;
    }

    public string Path { get; }

    /// <summary>The listening socket to hand a successor; -1 before it is bound.</summary>
    public int Descriptor => _socket is { } socket ? (int)socket.Handle : -1;

    /// <summary>A control socket to bind at <paramref name="path"/> once this process serves (<see cref="Bind"/>).</summary>
    public static ControlServer At(string path, ILogger logger) => new(null, path, boundHere: true, logger);

    /// <summary>The control socket a predecessor handed over.</summary>
    public static ControlServer Adopt(int fd, string path, ILogger logger)
    {
        Descriptors.SetCloseOnExec(fd, true);
        return new ControlServer(new Socket(new SafeSocketHandle(fd, ownsHandle: true)), path, boundHere: false, logger);
    }

    /// <summary>
    /// Binds the socket, if this process does not have it yet: a first generation, once it serves (a start that fails
    /// earlier leaves no file behind). A file left by a server that died is replaced; a live one is refused.
    /// </summary>
    /// <exception cref="BatonStartupException">The path is too long, or another server answers on it.</exception>
    public void Bind()
    {
        _socket ??= BindAt(Path);
        Log.ControlListening(_logger, Environment.ProcessId, Path);
    }

    private static Socket BindAt(string path)
    {
        if (Encoding.UTF8.GetByteCount(path) > ControlProtocol.MaxPathBytes)
        {
            throw new BatonStartupException(
                $"Baton:PidFile: the control socket beside it, '{path}', is longer than a Unix socket address allows ({ControlProtocol.MaxPathBytes} bytes); choose a shorter pid-file path.");
        }

        if (File.Exists(path))
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new BatonStartupException($"Another Baton server answers on the control socket '{path}': is this service already running? Stop it first, or use another Baton:PidFile.");
            }
            catch (SocketException)
            {
                // Nobody listens: left behind by a process that did not stop cleanly.
                File.Delete(path);
            }
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));

            // Before listen(): until then a connect is refused, so no other user ever reaches it in between.
            Paths.RestrictToOwner(path);
            socket.Listen(16);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Starts answering once this process serves (see <see cref="Serving"/>).</summary>
    public void AttachTo(IControlTarget target) => _target = target;

    public void Serving(int generation)
    {
        if (generation > 1)
        {
            _lastReload = new ReloadRecord { Result = "ok", At = DateTimeOffset.UtcNow, Pid = Environment.ProcessId };
        }

        StartAnswering();
    }

    public void HandingOverTo(int successorPid) => _answering = false;

    public void HandoverSucceeded(int successorPid, int generation, TimeSpan elapsed)
    {
        _lastReload = new ReloadRecord { Result = "ok", At = DateTimeOffset.UtcNow, Pid = successorPid };
        lock (_loopGate)
        {
            // Detached here, or by the loop as it ends: never under a poll or accept that is still running, and
            // without holding up the drain that follows.
            _handedOver = true;
            if (!_loopRunning)
            {
                DetachLocked();
            }
        }
    }

    public void HandoverFailed(string reason, TimeSpan elapsed)
    {
        _lastReload = new ReloadRecord { Result = "failed", At = DateTimeOffset.UtcNow, Reason = reason };

        // Refused at the very last step (the successor could not be told "go"): this process answers again.
        StartAnswering();
    }

    public void RestartDeferred(int predecessorPid) =>
        _lastReload = new ReloadRecord { Result = "deferred", At = DateTimeOffset.UtcNow, Reason = $"process {predecessorPid} still drains" };

    /// <summary>At the final stop: the socket is closed and its file removed. After a handover, the successor's.</summary>
    public void Dispose()
    {
        _answering = false;
        if (_handedOver || _socket is null)
        {
            return;
        }

        _loop?.Join();
        _socket.Dispose();
        if (!_boundHere)
        {
            // The runtime removes only a path its own Socket bound.
            File.Delete(Path);
        }
    }

    /// <summary>
    /// Waits (at most <paramref name="longest"/>) for answers still being written: a process that hands over answers the
    /// reload that asked for it, and must not exit before that answer is out.
    /// </summary>
    public async Task WaitForAnswersAsync(TimeSpan longest)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Volatile.Read(ref _answersInFlight) > 0 && clock.Elapsed < longest)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    internal static ControlResponse Refusal(string reason) => new() { Result = "error", Reason = reason, Pid = Environment.ProcessId };

    private void StartAnswering()
    {
        lock (_loopGate)
        {
            if (_handedOver || _socket is null)
            {
                return;
            }

            // A loop that is still winding down simply carries on.
            _answering = true;
            if (_loopRunning)
            {
                return;
            }

            _loopRunning = true;
            _loop = new Thread(AnswerLoop) { IsBackground = true, Name = "Baton control" };
            _loop.Start();
        }
    }

    private void DetachLocked()
    {
        if (_detached || _socket is null)
        {
            return;
        }

        _detached = true;
        Descriptors.DetachShared(Descriptor);
        lock (HandedOver)
        {
            HandedOver.Add(_socket);
        }
    }

    private void AnswerLoop()
    {
        while (true)
        {
            AnswerWhileServing(_socket!);
            lock (_loopGate)
            {
                // Told to answer again while winding down (a handover failed at its last step): carry on.
                if (_answering && !_handedOver)
                {
                    continue;
                }

                _loopRunning = false;
                if (_handedOver)
                {
                    DetachLocked();
                }

                return;
            }
        }
    }

    private void AnswerWhileServing(Socket socket)
    {
        while (_answering)
        {
            try
            {
                // Checked again after the wait: a process that stopped answering must leave the connection in the
                // queue for its successor.
                if (!socket.Poll(PollSlice, SelectMode.SelectRead) || !_answering)
                {
                    continue;
                }

                var client = socket.Accept();
                Interlocked.Increment(ref _answersInFlight);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await AnswerAsync(client).ConfigureAwait(false);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _answersInFlight);
                    }
                });
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                _answering = false;
                Log.ControlFailed(_logger, Environment.ProcessId, ex.Message);
                return;
            }
        }
    }

    private async Task AnswerAsync(Socket client)
    {
        using (client)
        {
            ControlResponse response;
            try
            {
                // Read before anything else, even from a peer that is refused: closing on unread bytes would reset the
                // connection, and the refusal would never arrive.
                var request = await ReadLineAsync(client).ConfigureAwait(false);
                var (peerPid, peerUser) = PeerOf(client);
                if (peerUser != _ownUser && peerUser != 0)
                {
                    Log.ControlRefused(_logger, Environment.ProcessId, peerPid, peerUser);
                    response = Refusal($"user {peerUser} may not control this server (it runs as user {_ownUser})");
                }
                else
                {
                    Log.ControlRequest(_logger, Environment.ProcessId, request, peerPid);
                    response = await HandleAsync(request).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or InvalidOperationException or OperationCanceledException)
            {
                response = Refusal(ex.Message);
            }

            try
            {
                var json = JsonSerializer.Serialize(response, ControlJson.Default.ControlResponse) + "\n";
                await client.SendAsync(Encoding.UTF8.GetBytes(json)).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                // The client went away; it will not read the answer.
            }
        }
    }

    private async Task<ControlResponse> HandleAsync(string request)
    {
        var target = _target ?? throw new InvalidOperationException("the process is not serving yet");
        var pid = Environment.ProcessId;
        switch (request)
        {
            case ControlProtocol.Status:
                var status = target.Status();
                status.LastReload = _lastReload;
                return new ControlResponse { Pid = pid, Status = status };
            case ControlProtocol.Reload:
                return await target.RestartAsync().ConfigureAwait(false) switch
                {
                    RestartSucceeded ok => new ControlResponse { Pid = pid, NewPid = ok.Pid, NewGeneration = ok.Generation, ElapsedMs = ok.Elapsed.TotalMilliseconds },
                    RestartFailed failed => new ControlResponse { Result = "failed", Pid = pid, Reason = failed.Reason, ElapsedMs = failed.Elapsed.TotalMilliseconds },
                    RestartDeferred deferred => new ControlResponse
                    {
                        Result = "deferred",
                        Pid = pid,
                        Reason = $"process {deferred.PredecessorPid} that this one took over from still drains ({(deferred.PredecessorConnections is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "its")} connection(s) open); the restart starts once it has exited",
                    },
                    RestartRefused refused => new ControlResponse { Result = "refused", Pid = pid, Reason = $"process {pid} is {refused.State}; a restart needs it Serving" },
                    _ => Refusal("unknown restart result"),
                };
            case ControlProtocol.Stop or ControlProtocol.Hammer:
                target.Stop(hammer: request == ControlProtocol.Hammer);
                return new ControlResponse { Result = "stopping", Pid = pid };
            default:
                return Refusal($"unknown request '{request}' (status, reload, stop, hammer)");
        }
    }

    private static (int Pid, uint User) PeerOf(Socket client)
    {
        Span<byte> credentials = stackalloc byte[12];
        var length = client.GetRawSocketOption(Libc.SOL_SOCKET, Libc.SO_PEERCRED, credentials);
        return length == 12
            ? (BitConverter.ToInt32(credentials), BitConverter.ToUInt32(credentials[4..]))
            : throw new InvalidOperationException("SO_PEERCRED gave no credentials");
    }

    private static async Task<string> ReadLineAsync(Socket client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new byte[256];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            length += read;
            if (Array.IndexOf(buffer, (byte)'\n', 0, length) >= 0)
            {
                break;
            }
        }

        return Encoding.UTF8.GetString(buffer, 0, length).Split('\n')[0].Trim();
    }
}
