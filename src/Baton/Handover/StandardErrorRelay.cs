using System.Text;
using Baton.Interop;

namespace Baton.Handover;

/// <summary>
/// Copies what comes down a standard-error pipe to this process's standard error (descriptor 2), as it comes.
/// The parent relays a starting successor's standard error this way and keeps the tail, so a successor that dies
/// before it is ready has its own last words - typically .NET's "Unhandled exception." line - in the one log line
/// that says the handover failed. An accepted successor relays the same pipe itself for the processes it started
/// before then, which still write into it after the parent is gone.
/// </summary>
internal sealed class StandardErrorRelay : IDisposable
{
    private const int TailLimit = 16 * 1024;
    private static readonly TimeSpan PollSlice = TimeSpan.FromMilliseconds(200);

    private readonly int _readFd;
    private readonly StringBuilder? _tail;
    private readonly ManualResetEventSlim _ended = new();
    private volatile bool _disposed;

    public StandardErrorRelay(int readFd, bool keepTail)
    {
        _readFd = readFd;
        _tail = keepTail ? new StringBuilder() : null;
        new Thread(Run) { IsBackground = true, Name = "Baton stderr relay" }.Start();
    }

    /// <summary>Waits (briefly) for the writers' side to close, then summarizes what was written last.</summary>
    public string? Summarize(TimeSpan wait)
    {
        if (_tail is null)
        {
            return null;
        }

        _ended.Wait(wait);
        string text;
        lock (_tail)
        {
            text = _tail.ToString();
        }

        return Summarize(text);
    }

    internal static string? Summarize(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var unhandled = Array.FindIndex(lines, l => l.StartsWith("Unhandled exception.", StringComparison.Ordinal));
        if (unhandled >= 0)
        {
            // The exception and its inner exceptions (" ---> "), without the stack.
            var causes = lines.Skip(unhandled + 1).TakeWhile(l => l.StartsWith("--->", StringComparison.Ordinal)).Take(3);
            return string.Join(" ", causes.Prepend(lines[unhandled]));
        }

        var last = lines.LastOrDefault(l => !l.StartsWith("at ", StringComparison.Ordinal));
        return last is null ? null : last.Length > 500 ? last[..500] + "..." : last;
    }

    /// <summary>
    /// Ends the relay: it reads nothing more (an accepted successor relays the pipe itself from now on, and a byte
    /// read here could be lost when this process exits).
    /// </summary>
    public void Dispose() => _disposed = true;

    private void Run()
    {
        try
        {
            while (true)
            {
                var readable = DescriptorIo.WaitReadable(_readFd, PollSlice);
                if (_disposed)
                {
                    break;
                }

                if (!readable)
                {
                    continue;
                }

                var bytes = DescriptorIo.ReadNow(_readFd);

                if (bytes.Length == 0)
                {
                    break;
                }

                // Our own standard error may be gone; the tail is kept all the same.
                _ = DescriptorIo.Write(2, bytes);
                if (_tail is not null)
                {
                    lock (_tail)
                    {
                        _tail.Append(Encoding.UTF8.GetString(bytes));
                        if (_tail.Length > TailLimit)
                        {
                            _tail.Remove(0, _tail.Length - TailLimit);
                        }
                    }
                }
            }
        }
        catch (PosixException)
        {
            // The descriptor failed: nothing more to relay.
        }
        finally
        {
            Descriptors.Close(_readFd);
            _ended.Set();
        }
    }
}
