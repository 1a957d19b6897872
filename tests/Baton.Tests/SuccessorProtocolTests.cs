using System.Net;
using System.Net.Sockets;
using System.Text;
using Baton.Handover;
using Baton.Interop;
using Xunit;

namespace Baton.Tests;

/// <summary>
/// The successor's side of the protocol against a real process: samples/Hello started as a successor, with this test
/// playing its parent - binding the listener, holding the other end of the channel, deciding when to say "go".
/// </summary>
public sealed class SuccessorProtocolTests
{
    [Fact]
    public void A_successor_accepts_nothing_until_its_parent_says_go_then_serves_and_sees_its_parent_leave()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;
        var (channel, childChannel) = Descriptors.CreateSocketPair();
        var (relayRead, relayWrite) = Descriptors.CreatePipe();
        var pid = -1;
        try
        {
            var (descriptors, variables) = HandoverEnvironment.ForSuccessor(
                [new InheritedListener((int)listener.Handle, endPoint)], childChannel, standardError: 2, standardErrorRelay: relayRead, generation: 2, Environment.ProcessId);
            var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .Select(e => $"{e.Key}={e.Value}")
                .Where(v => !v.StartsWith("BATON_", StringComparison.Ordinal))
                .Concat(variables)
                .ToList();
            var hello = HelloBuild();
            pid = ProcessSpawner.Spawn(new SpawnRequest(
                "/usr/bin/env",
                ["env", "dotnet", hello, "--urls", $"http://127.0.0.1:{endPoint.Port}", "--Logging:LogLevel:Default=Warning"],
                environment,
                Path.GetDirectoryName(hello)!,
                descriptors,
                Standard: [0, 1, relayWrite]));
            Descriptors.Close(childChannel);
            childChannel = -1;
            Descriptors.Close(relayWrite);
            relayWrite = -1;

            var lines = new LineReader(channel);
            var ready = lines.Read(TimeSpan.FromSeconds(60));
            Assert.Equal($"ready {pid} 2", ready.Line);

            // Ready, but not yet told "go": clients wait in the kernel's queue, unanswered. The readiness probe among
            // them is accepted the moment the gate opens: it must already see this process as serving (a load
            // balancer that got 503 there would take a healthy instance out of its pool).
            using var client = SendRequest(endPoint, "/");
            using var probe = SendRequest(endPoint, "/health/ready");
            Assert.False(client.Poll(TimeSpan.FromSeconds(1), SelectMode.SelectRead), "the successor answered before it was told go");

            Assert.True(DescriptorIo.Send(channel, HandshakeMessage.Go));
            var answer = ReadAnswer(client);
            Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
            Assert.Contains($"\"pid\":{pid}", answer, StringComparison.Ordinal);
            var probed = ReadAnswer(probe);
            Assert.True(probed.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) && probed.Contains("Healthy", StringComparison.Ordinal), probed);

            // The parent leaves: the successor carries on, and stops cleanly when told.
            Descriptors.Close(channel);
            channel = -1;
            ChildProcesses.Signal(pid, Libc.SIGTERM);
            Assert.Equal(0, WaitForExit(pid).ExitCode);
            pid = -1;
        }
        finally
        {
            if (pid > 0)
            {
                ChildProcesses.Signal(pid, Libc.SIGKILL);
                WaitForExit(pid);
            }

            foreach (var fd in new[] { channel, childChannel, relayRead, relayWrite })
            {
                if (fd >= 0)
                {
                    Descriptors.Close(fd);
                }
            }
        }
    }

    private static Socket SendRequest(IPEndPoint endPoint, string path)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(endPoint);
        client.Send(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        return client;
    }

    private static string ReadAnswer(Socket client)
    {
        Assert.True(client.Poll(TimeSpan.FromSeconds(10), SelectMode.SelectRead), "no answer after go");
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        int read;
        while ((read = client.Receive(buffer)) > 0)
        {
            answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }

    private static string HelloBuild()
    {
        var configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var hello = Path.Combine(directory.FullName, "samples", "Hello", "bin", configuration, "net10.0", "Hello.dll");
            if (File.Exists(Path.Combine(directory.FullName, "Baton.slnx")))
            {
                return File.Exists(hello) ? hello : throw new FileNotFoundException($"{hello} is missing: build the solution first.", hello);
            }
        }

        throw new InvalidOperationException("Baton.slnx not found above " + AppContext.BaseDirectory);
    }

    private static ChildExit WaitForExit(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (ChildProcesses.TryReap(pid) is { } exit)
            {
                return exit;
            }

            Thread.Sleep(10);
        }

        throw new TimeoutException($"process {pid} did not exit");
    }
}
