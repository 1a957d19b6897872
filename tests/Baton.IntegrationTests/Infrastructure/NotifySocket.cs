using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Baton.IntegrationTests.Infrastructure;

/// <summary>One datagram that reached the notify socket: who sent it (from the kernel, not from the text) and what it said.</summary>
internal sealed record NotifyMessage(int Pid, string Text, long ReceivedAtMicroseconds)
{
    public IReadOnlyList<string> Assignments => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public string? Value(string name) =>
        Assignments.FirstOrDefault(a => a.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];

    /// <summary>"PID: READY=1 MAINPID=..." without the values that vary (STATUS, MONOTONIC_USEC), for exact sequences.</summary>
    public string Shape(Func<int, string> name) =>
        $"{name(Pid)}: " + string.Join(' ', Assignments.Select(a => a.StartsWith("STATUS=", StringComparison.Ordinal) ? "STATUS"
            : a.StartsWith("MONOTONIC_USEC=", StringComparison.Ordinal) ? "MONOTONIC_USEC"
            : a.StartsWith("MAINPID=", StringComparison.Ordinal) ? "MAINPID=" + name(int.Parse(a[8..], System.Globalization.CultureInfo.InvariantCulture))
            : a));
}

/// <summary>
/// What systemd listens on for Type=notify: a Unix datagram socket with SO_PASSCRED, so the kernel attaches the
/// sender's pid to every datagram - the pid systemd checks against NotifyAccess= and the main pid. Point a process at
/// it with NOTIFY_SOCKET=<see cref="Path"/>.
/// </summary>
internal sealed partial class NotifySocket : IDisposable
{
    private const int SOL_SOCKET = 1;
    private const int SO_PASSCRED = 16;
    private const int SCM_CREDENTIALS = 2;
    private const int MSG_DONTWAIT = 0x40;

    private readonly string _directory;
    private readonly Socket _socket;
    private readonly ConcurrentQueue<NotifyMessage> _messages = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _reader;

    public NotifySocket()
    {
        _directory = Directory.CreateTempSubdirectory("baton-notify-").FullName;
        Path = System.IO.Path.Combine(_directory, "notify");
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        _socket.SetRawSocketOption(SOL_SOCKET, SO_PASSCRED, BitConverter.GetBytes(1));
        _reader = new Thread(Read) { IsBackground = true, Name = "notify socket" };
        _reader.Start();
    }

    public string Path { get; }

    public IReadOnlyList<NotifyMessage> Messages => [.. _messages];

    /// <summary>CLOCK_MONOTONIC in microseconds, the clock of MONOTONIC_USEC=.</summary>
    public static unsafe long MonotonicMicroseconds()
    {
        TimeSpec time;
        if (ClockGetTime(1, &time) != 0)
        {
            throw new InvalidOperationException("clock_gettime failed");
        }

        return (time.Seconds * 1_000_000) + (time.Nanoseconds / 1_000);
    }

    /// <summary>Waits for a datagram (already here or still to come) that matches; the <paramref name="skip"/> first matches do not count.</summary>
    public async Task<NotifyMessage> WaitForAsync(Func<NotifyMessage, bool> match, TimeSpan? timeout = null, int skip = 0)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (_messages.Where(match).Skip(skip).FirstOrDefault() is { } found)
            {
                return found;
            }

            try
            {
                await _arrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("No notify datagram matched. Received:\n" + string.Join("\n---\n", _messages.Select(m => $"{m.Pid}: {m.Text}")));
            }
        }
    }

    /// <summary>
    /// Returns once every datagram sent before this call has been read: a marker from this process goes through the
    /// same queue, behind them.
    /// </summary>
    public async Task FlushAsync()
    {
        var marker = $"BATON_TEST_FLUSH={Guid.NewGuid():N}";
        using (var sender = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified))
        {
            sender.Connect(new UnixDomainSocketEndPoint(Path));
            sender.Send(Encoding.UTF8.GetBytes(marker));
        }

        await WaitForAsync(m => m.Text == marker);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _reader.Join();
        _socket.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private unsafe void Read()
    {
        var buffer = new byte[8192];
        var control = new byte[256];
        while (!_stop.IsCancellationRequested)
        {
            // Polled so that Dispose is noticed: closing a socket does not wake a thread blocked in recvmsg.
            if (!_socket.Poll(TimeSpan.FromMilliseconds(100), SelectMode.SelectRead))
            {
                continue;
            }

            fixed (byte* data = buffer)
            fixed (byte* controlData = control)
            {
                var vector = new IoVector { Base = data, Length = (nuint)buffer.Length };
                var header = new MessageHeader { Vector = &vector, VectorCount = 1, Control = controlData, ControlLength = (nuint)control.Length };
                var received = ReceiveMessage((int)_socket.Handle, &header, MSG_DONTWAIT);
                if (received < 0)
                {
                    continue;
                }

                var at = MonotonicMicroseconds();
                _messages.Enqueue(new NotifyMessage(SenderPid(&header), Encoding.UTF8.GetString(buffer, 0, (int)received), at));
                _arrived.Release();
            }
        }
    }

    private static unsafe int SenderPid(MessageHeader* header)
    {
        // cmsghdr: size_t length, int level, int type, then the data aligned to size_t; ucred: pid, uid, gid.
        var offset = 0;
        while (offset + sizeof(nuint) + 8 <= (int)header->ControlLength)
        {
            var message = header->Control + offset;
            var length = (int)*(nuint*)message;
            var level = *(int*)(message + sizeof(nuint));
            var type = *(int*)(message + sizeof(nuint) + 4);
            if (level == SOL_SOCKET && type == SCM_CREDENTIALS)
            {
                return *(int*)(message + sizeof(nuint) + 8);
            }

            if (length <= 0)
            {
                break;
            }

            offset += (length + sizeof(nuint) - 1) & ~(sizeof(nuint) - 1);
        }

        return 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public IoVector* Vector;
        public nuint VectorCount;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static unsafe partial nint ReceiveMessage(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static unsafe partial int ClockGetTime(int clock, TimeSpec* time);
}
