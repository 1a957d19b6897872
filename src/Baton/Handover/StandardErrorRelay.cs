using System.Text;
using Baton.Interop;

namespace Baton.Handover;

/// <summary>
/// Carries a starting successor's standard error through this process: every byte is passed on to our standard
/// error as it comes (the user still sees everything), and the tail is kept, so a successor that dies before it is
/// ready has its own last words - typically .NET's "Unhandled exception." line - in the one log line that says the
/// handover failed.
/// </summary>
internal sealed class StandardErrorRelay : IDisposable
{
    private const int TailLimit = 16 * 1024;

    private readonly int _readFd;
    private readonly Thread _thread;
    private readonly StringBuilder _tail = new();
    private readonly ManualResetEventSlim _ended = new();
    private volatile bool _disposed;

    public StandardErrorRelay(int readFd)
    {
        _readFd = readFd;
        _thread = new Thread(Run) { IsBackground = true, Name = "Baton stderr relay" };
        _thread.Start();
    }

    /// <summary>Waits (briefly) for the successor's side to close, then summarizes what it wrote last.</summary>
    public string? Summarize(TimeSpan wait)
    {
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

    /// <summary>Lets the relay end: at end of file, or after half a second of silence from now.</summary>
    public void Dispose() => _disposed = true;

    private void Run()
    {
        using var stderr = Console.OpenStandardError();
        try
        {
            while (true)
            {
                var bytes = ReadyPipe.Read(_readFd, TimeSpan.FromMilliseconds(500));
                if (bytes is null)
                {
                    if (_disposed)
                    {
                        break;
                    }

                    continue;
                }

                if (bytes.Length == 0)
                {
                    break;
                }

                try
                {
                    stderr.Write(bytes);
                    stderr.Flush();
                }
                catch (IOException)
                {
                    // Our own stderr is gone; keep the tail all the same.
                }

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
