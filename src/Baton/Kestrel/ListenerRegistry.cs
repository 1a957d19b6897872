using System.Net;
using System.Net.Sockets;
using Baton.Handover;
using Baton.Interop;

namespace Baton.Kestrel;

/// <summary>
/// The listening sockets of this process: the ones it inherited (waiting to be claimed by Kestrel's bind), and the
/// ones Kestrel listens on, which a handover passes to the successor.
/// </summary>
internal sealed class ListenerRegistry
{
    private readonly object _gate = new();
    private readonly List<(InheritedListener Listener, Socket Socket)> _unclaimed = [];
    private readonly Dictionary<EndPoint, (Socket Socket, InheritedListener? Adopted)> _createdFor = new(ReferenceEqualityComparer.Instance);
    private readonly List<GatedListener> _listeners = [];

    // Whether this process accepts: from the start in the first generation, from "go" in a successor, until the drain.
    // A listener Kestrel binds later (an app that turned Kestrel's reload-on-change back on) follows it.
    private bool _gatesOpen;
    private bool _stoppedAccepting;

    /// <param name="inherited">What a successor was handed by its predecessor; null in the first generation.</param>
    /// <param name="activated">What the service manager passed to the first generation (socket activation).</param>
    public ListenerRegistry(InheritedState? inherited, IReadOnlyList<InheritedListener>? activated = null)
    {
        IsSuccessor = inherited is not null;
        _gatesOpen = !IsSuccessor;
        ParentPid = inherited?.ParentPid ?? 0;
        foreach (var listener in inherited?.Listeners ?? activated ?? [])
        {
            // Close-on-exec again at once: the descriptor was handed to us for Kestrel, not for any process the app starts.
            Descriptors.SetCloseOnExec(listener.Descriptor, true);
            Descriptors.ClearLinger(listener.Descriptor);
            _unclaimed.Add((listener, new Socket(new SafeSocketHandle(listener.Descriptor, ownsHandle: true))));
        }
    }

    /// <summary>
    /// A successor shares its sockets with a process that serves: it accepts nothing until it reports ready, so a
    /// start that fails after Kestrel is up (a hook that throws, a ready timeout) has taken no connection it would drop.
    /// </summary>
    public bool IsSuccessor { get; }

    /// <summary>The process the inherited sockets came from; 0 in the first generation.</summary>
    public int ParentPid { get; }

    public IReadOnlyList<GatedListener> Listeners
    {
        get
        {
            lock (_gate)
            {
                return [.. _listeners];
            }
        }
    }

    /// <summary>The socket Kestrel should listen on for <paramref name="endPoint"/>: an inherited one if one serves it, else a fresh bind.</summary>
    public Socket CreateListenSocket(EndPoint endPoint, Func<EndPoint, Socket> bindFresh, out InheritedListener? adopted)
    {
        Socket socket;
        adopted = null;
        lock (_gate)
        {
            var index = _unclaimed.FindIndex(u => InheritedListener.Serves(u.Listener.EndPoint, endPoint));
            if (index >= 0)
            {
                (adopted, socket) = _unclaimed[index];
                _unclaimed.RemoveAt(index);
            }
            else
            {
                socket = bindFresh(endPoint);
            }

            _createdFor[endPoint] = (socket, adopted);
        }

        return socket;
    }

    /// <summary>The socket made for <paramref name="endPoint"/> by <see cref="CreateListenSocket"/>, and the inherited listener it was, if any.</summary>
    public (Socket? Socket, InheritedListener? Adopted) TakeSocketCreatedFor(EndPoint endPoint)
    {
        lock (_gate)
        {
            return _createdFor.Remove(endPoint, out var created) ? created : (null, null);
        }
    }

    /// <summary>Registers <paramref name="listener"/>, opening its gate if this process accepts; false if it has stopped accepting.</summary>
    public bool Add(GatedListener listener)
    {
        lock (_gate)
        {
            _listeners.Add(listener);
            if (_gatesOpen && !_stoppedAccepting)
            {
                listener.OpenGate();
            }

            return !_stoppedAccepting;
        }
    }

    /// <summary>This process accepts now: every gate opens, and so does that of a listener bound from now on.</summary>
    public void OpenGates()
    {
        lock (_gate)
        {
            _gatesOpen = true;
            foreach (var listener in _listeners)
            {
                listener.OpenGate();
            }
        }
    }

    /// <summary>This process accepts no more (a drain begins); returns the listeners to stop.</summary>
    public IReadOnlyList<GatedListener> StopAccepting()
    {
        lock (_gate)
        {
            _stoppedAccepting = true;
            return [.. _listeners];
        }
    }

    public void Remove(GatedListener listener)
    {
        lock (_gate)
        {
            _listeners.Remove(listener);
        }
    }

    /// <summary>
    /// Closes inherited listeners the configuration no longer asks for; returns what they were bound to. The file of a
    /// Unix socket among them is removed too (reported to <paramref name="socketFileRemoved"/>, or with the reason to
    /// <paramref name="socketFileNotRemoved"/>): the runtime removes only files its own Socket bound, and this one was
    /// bound by an earlier generation; left behind, a later configuration or cold start that names the path again would
    /// fail with "address in use". Not for a socket the service manager passed: its socket unit still listens on that path.
    /// </summary>
    public IReadOnlyList<string> CloseUnclaimed(Action<string>? socketFileRemoved = null, Action<string, string>? socketFileNotRemoved = null)
    {
        lock (_gate)
        {
            var closed = _unclaimed.Select(u => u.Listener.Describe()).ToList();
            foreach (var (listener, socket) in _unclaimed)
            {
                // The path goes before the socket: while it exists, nobody else can bind it, so it is still ours.
                if (!listener.Activated && InheritedListener.SocketFilePath(listener.EndPoint) is { } path && File.Exists(path))
                {
                    // A file that cannot go (its directory turned read-only) must not keep the socket open: it is closed anyway.
                    try
                    {
                        File.Delete(path);
                        socketFileRemoved?.Invoke(path);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        socketFileNotRemoved?.Invoke(path, ex.Message);
                    }
                }

                socket.Dispose();
            }

            _unclaimed.Clear();
            return closed;
        }
    }

    public IReadOnlyList<InheritedListener> Snapshot() =>
        Listeners.Where(l => l.Handle is not null).Select(l => new InheritedListener(l.Descriptor, l.LocalEndPoint) { Activated = l.Activated }).ToList();
}
