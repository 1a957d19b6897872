using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Baton.Interop;
using Xunit;

namespace Baton.Tests;

/// <summary>The real system calls, on descriptors these tests own.</summary>
public sealed class InteropTests
{
    [Fact]
    public void Resolve_follows_directory_and_file_links_and_says_null_for_a_missing_path()
    {
        var root = Directory.CreateTempSubdirectory("baton-paths-").FullName;
        try
        {
            var release = Directory.CreateDirectory(Path.Combine(root, "v1")).FullName;
            File.WriteAllText(Path.Combine(release, "App"), "");
            Directory.CreateSymbolicLink(Path.Combine(root, "current"), release);

            Assert.Equal(Path.Combine(Paths.Resolve(root)!, "v1", "App"), Paths.Resolve(Path.Combine(root, "current", "App")));
            Assert.Null(Paths.Resolve(Path.Combine(root, "missing")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Descriptors_are_classified()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var unbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var (read, write) = Descriptors.CreatePipe();
        try
        {
            Assert.Equal(DescriptorKind.NotListening, Descriptors.Classify((int)listener.Handle));
            listener.Listen();
            Assert.Equal(DescriptorKind.ListeningStreamSocket, Descriptors.Classify((int)listener.Handle));
            Assert.Equal(DescriptorKind.NotListening, Descriptors.Classify((int)unbound.Handle));
            Assert.Equal(DescriptorKind.OtherSocket, Descriptors.Classify((int)udp.Handle));
            Assert.Equal(DescriptorKind.NotASocket, Descriptors.Classify(read));
            Assert.True(Descriptors.IsWriteOnly(write));
            Assert.False(Descriptors.IsWriteOnly(read));
        }
        finally
        {
            Descriptors.Close(read);
            Descriptors.Close(write);
        }

        Assert.Equal(DescriptorKind.NotOpen, Descriptors.Classify(read));
    }

    [Fact]
    public void Close_on_exec_is_set_and_cleared()
    {
        var (read, write) = Descriptors.CreatePipe();
        try
        {
            Assert.True(Descriptors.IsCloseOnExec(read));
            Descriptors.SetCloseOnExec(read, false);
            Assert.False(Descriptors.IsCloseOnExec(read));
            Descriptors.SetCloseOnExec(read, true);
            Assert.True(Descriptors.IsCloseOnExec(read));
        }
        finally
        {
            Descriptors.Close(read);
            Descriptors.Close(write);
        }
    }

    [Fact]
    public void Detaching_a_shared_listener_leaves_it_listening_for_the_other_holder_even_after_an_abortive_dispose()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;

        // The "successor's" copy of the same socket.
        var shared = Libc.Fcntl((int)listener.Handle, Libc.F_DUPFD_CLOEXEC, 100);
        Assert.True(shared >= 100);
        using var successor = new Socket(new SafeSocketHandle(shared, ownsHandle: true));

        // An accept in progress on our copy, as Kestrel always has one: disposing it would unblock the accept with
        // connect(AF_UNSPEC) and set SO_LINGER {on, 0}, on the socket itself.
        var pendingAccept = listener.AcceptAsync();
        Descriptors.DetachShared((int)listener.Handle);
        listener.Dispose();
        Assert.ThrowsAny<Exception>(() => pendingAccept.GetAwaiter().GetResult());

        Assert.Equal(DescriptorKind.ListeningStreamSocket, Descriptors.Classify(shared));
        Assert.False(Descriptors.GetLinger(shared).On);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(endPoint);
        using var accepted = successor.Accept();
        Assert.False(accepted.LingerState!.Enabled);
    }

    [Fact]
    public void Clear_linger_turns_off_an_abortive_close()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.LingerState = new LingerOption(true, 0);
        Assert.True(Descriptors.GetLinger((int)socket.Handle).On);
        Descriptors.ClearLinger((int)socket.Handle);
        Assert.False(Descriptors.GetLinger((int)socket.Handle).On);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_spawned_process_gets_exactly_the_listed_descriptors_renumbered_from_3_and_nothing_else(bool portable)
    {
        // Portable: descriptors closed one by one, as on a C library without addclosefrom_np (glibc < 2.34, musl).
        var support = SpawnSupport.Detect(forcePortable: portable);
        Assert.Equal(portable, support.IsPortable);

        // A descriptor without close-on-exec that Process.Start would pass on, and one we do pass.
        var (leakRead, leakWrite) = Descriptors.CreatePipe();
        Descriptors.SetCloseOnExec(leakRead, false);
        var (passRead, passWrite) = Descriptors.CreatePipe();
        var (outRead, outWrite) = Descriptors.CreatePipe();
        try
        {
            // The child (ls itself, exec'd by the shell with its output on descriptor 4, the second one passed) lists
            // its own descriptors.
            var pid = ProcessSpawner.Spawn(
                new SpawnRequest("/bin/sh", ["sh", "-c", "exec ls -1 /proc/self/fd >&4"], ["PATH=/usr/bin:/bin"], "/", [passRead, outWrite]),
                support);
            Descriptors.Close(outWrite);
            outWrite = -1;

            var output = ReadAll(outRead);
            var exit = WaitForExit(pid);
            Assert.Equal(0, exit.ExitCode);
            var descriptors = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).Order().ToList();

            // 0-2, the two passed (3, 4) and the one ls opens to read the directory (the lowest free: 5).
            Assert.Equal([0, 1, 2, 3, 4, 5], descriptors);
        }
        finally
        {
            foreach (var fd in new[] { leakRead, leakWrite, passRead, passWrite, outRead, outWrite })
            {
                if (fd >= 0)
                {
                    Descriptors.Close(fd);
                }
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_spawned_process_starts_in_the_directory_asked_for_through_a_link_and_ours_is_unchanged(bool portable)
    {
        // Portable: this process changes directory around the spawn, as on a C library without addchdir_np (glibc < 2.29).
        var root = Directory.CreateTempSubdirectory("baton-cwd-").FullName;
        var (outRead, outWrite) = Descriptors.CreatePipe();
        var before = Environment.CurrentDirectory;
        try
        {
            var release = Directory.CreateDirectory(Path.Combine(root, "v2")).FullName;
            Directory.CreateSymbolicLink(Path.Combine(root, "current"), release);
            var pid = ProcessSpawner.Spawn(
                new SpawnRequest("/bin/sh", ["sh", "-c", "readlink /proc/self/cwd >&3"], ["PATH=/usr/bin:/bin"], Path.Combine(root, "current"), [outWrite]),
                SpawnSupport.Detect(forcePortable: portable));
            Descriptors.Close(outWrite);
            outWrite = -1;

            Assert.Equal(Paths.Resolve(release), ReadAll(outRead).Trim());
            Assert.Equal(0, WaitForExit(pid).ExitCode);
            Assert.Equal(before, Environment.CurrentDirectory);
        }
        finally
        {
            Descriptors.Close(outRead);
            if (outWrite >= 0)
            {
                Descriptors.Close(outWrite);
            }

            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void This_glibc_is_detected_with_both_spawn_functions()
    {
        var support = SpawnSupport.Detect(forcePortable: false);
        Assert.StartsWith("glibc 2.", support.Library, StringComparison.Ordinal);
        Assert.False(support.IsPortable);
    }

    [Fact]
    public void A_signal_ignored_in_the_parent_is_back_to_default_and_unblocked_in_the_child()
    {
        var (outRead, outWrite) = Descriptors.CreatePipe();
        var previous = Libc.Signal(1, Libc.SIG_IGN);
        try
        {
            // SIGHUP ignored here, as under nohup: without the spawn attributes, the child would inherit the ignore.
            var pid = ProcessSpawner.Spawn(new SpawnRequest(
                "/bin/sh",
                ["sh", "-c", "grep -E '^Sig(Ign|Blk)' /proc/self/status >&3"],
                ["PATH=/usr/bin:/bin"],
                "/",
                [outWrite]));
            Libc.Signal(1, previous);
            previous = -1;
            Descriptors.Close(outWrite);
            outWrite = -1;
            var lines = ReadAll(outRead).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l.Split(':')[0], l => Convert.ToUInt64(l.Split(':')[1].Trim(), 16));
            Assert.Equal(0, WaitForExit(pid).ExitCode);

            // SigIgn and SigBlk are masks; SIGHUP is bit 0.
            Assert.Equal(0UL, lines["SigIgn"] & 1);
            Assert.Equal(0UL, lines["SigBlk"]);
        }
        finally
        {
            if (previous != -1)
            {
                Libc.Signal(1, previous);
            }

            Descriptors.Close(outRead);
            if (outWrite >= 0)
            {
                Descriptors.Close(outWrite);
            }
        }
    }

    [Fact]
    public void Bound_addresses_are_read_back_from_the_kernel()
    {
        using var v4 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        v4.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Equal(v4.LocalEndPoint, Descriptors.BoundEndPoint((int)v4.Handle));

        using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        v6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        Assert.Equal(v6.LocalEndPoint, Descriptors.BoundEndPoint((int)v6.Handle));

        var path = Path.Combine(Path.GetTempPath(), $"baton-unit-{Guid.NewGuid():N}.sock");
        using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        unix.Bind(new UnixDomainSocketEndPoint(path));
        Assert.Equal("unix:" + path, Baton.Handover.InheritedListener.FormatEndPoint(Descriptors.BoundEndPoint((int)unix.Handle)!));
    }

    [Fact]
    public void Every_writer_of_a_pipe_is_pointed_at_the_target_keeping_its_close_on_exec_and_the_read_end_is_left()
    {
        var (read, write) = Descriptors.CreatePipe();
        var copy = Libc.Fcntl(write, Libc.F_DUPFD_CLOEXEC, 200);
        var inherited = Libc.Fcntl(write, Libc.F_DUPFD_CLOEXEC, 210);
        Descriptors.SetCloseOnExec(inherited, false);
        var file = Path.GetTempFileName();
        using var target = File.OpenHandle(file, FileMode.Open, FileAccess.Write);
        var targetFd = (int)target.DangerousGetHandle();
        try
        {
            var switched = Descriptors.RedirectPipeWriters(write, targetFd);

            Assert.Equal([write, copy, inherited], switched.Order());
            foreach (var fd in switched)
            {
                Assert.Equal(file, Descriptors.Identity(fd));
            }

            Assert.True(Descriptors.IsCloseOnExec(copy));
            Assert.False(Descriptors.IsCloseOnExec(inherited));
            Assert.StartsWith("pipe:", Descriptors.Identity(read), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var fd in new[] { read, write, copy, inherited })
            {
                Descriptors.Close(fd);
            }

            File.Delete(file);
        }
    }

    private static string ReadAll(int fd)
    {
        var text = new System.Text.StringBuilder();
        while (DescriptorIo.Read(fd, TimeSpan.FromSeconds(10)) is { Length: > 0 } bytes)
        {
            text.Append(System.Text.Encoding.UTF8.GetString(bytes));
        }

        return text.ToString();
    }

    private static ChildExit WaitForExit(int pid)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (ChildProcesses.TryReap(pid) is { } exit)
            {
                return exit;
            }

            Thread.Sleep(5);
        }

        throw new TimeoutException($"child {pid} did not exit");
    }
}
