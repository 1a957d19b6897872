using System.Text;
using Baton.Interop;

namespace Baton.Handover;

/// <summary>One line at a time from a descriptor (the handover channel), with a deadline per read.</summary>
/// <param name="fd">The descriptor to read.</param>
/// <param name="receivesDescriptors">
/// The descriptor is a Unix socket that may carry descriptors (SCM_RIGHTS): they are kept, in the order they came, for
/// <see cref="TakeDescriptor"/>. A descriptor arrives no later than the first byte of the line it was sent with.
/// </param>
internal sealed class LineReader(int fd, bool receivesDescriptors = false)
{
    private readonly StringBuilder _buffer = new();
    private readonly List<int> _descriptors = [];
    private bool _endOfFile;

    public int Descriptor => fd;

    /// <summary>The oldest descriptor received and not yet taken; -1 when none.</summary>
    public int TakeDescriptor()
    {
        if (_descriptors.Count == 0)
        {
            return -1;
        }

        var taken = _descriptors[0];
        _descriptors.RemoveAt(0);
        return taken;
    }

    /// <summary>Closes every descriptor received and not taken.</summary>
    public void CloseDescriptors()
    {
        foreach (var received in _descriptors)
        {
            Descriptors.Close(received);
        }

        _descriptors.Clear();
    }

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

        if (!DescriptorIo.WaitReadable(fd, timeout))
        {
            return HandshakeRead.Nothing;
        }

        var bytes = receivesDescriptors ? ConnectionPassing.Receive(fd, _descriptors) : DescriptorIo.ReadNow(fd);

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
