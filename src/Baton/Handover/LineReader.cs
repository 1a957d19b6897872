using System.Text;
using Baton.Interop;

namespace Baton.Handover;

/// <summary>One line at a time from a descriptor (the handover channel), with a deadline per read.</summary>
internal sealed class LineReader(int fd)
{
    private readonly StringBuilder _buffer = new();
    private bool _endOfFile;

    public int Descriptor => fd;

    /// <summary>The next line; <see cref="HandshakeRead.EndOfFile"/> once the other side is gone; <see cref="HandshakeRead.Nothing"/> when nothing came in time.</summary>
    public HandshakeRead Read(TimeSpan timeout)
    {
        if (TakeLine() is { } buffered)
        {
            return new HandshakeRead(buffered, false);
        }

        if (_endOfFile)
        {
            return HandshakeRead.EndOfFile;
        }

        var bytes = DescriptorIo.Read(fd, timeout);
        if (bytes is null)
        {
            return HandshakeRead.Nothing;
        }

        if (bytes.Length == 0)
        {
            _endOfFile = true;
            if (_buffer.Length == 0)
            {
                return HandshakeRead.EndOfFile;
            }

            var rest = _buffer.ToString();
            _buffer.Clear();
            return new HandshakeRead(rest, false);
        }

        _buffer.Append(Encoding.UTF8.GetString(bytes));
        return TakeLine() is { } line ? new HandshakeRead(line, false) : HandshakeRead.Nothing;
    }

    private string? TakeLine()
    {
        for (var i = 0; i < _buffer.Length; i++)
        {
            if (_buffer[i] == '\n')
            {
                var line = _buffer.ToString(0, i);
                _buffer.Remove(0, i + 1);
                return line;
            }
        }

        return null;
    }
}

internal readonly record struct HandshakeRead(string? Line, bool IsEndOfFile)
{
    public static readonly HandshakeRead Nothing = new(null, false);
    public static readonly HandshakeRead EndOfFile = new(null, true);
}
