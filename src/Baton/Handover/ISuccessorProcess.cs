using Baton.Interop;

namespace Baton.Handover;

/// <summary>A successor process as the handover sees it, from its start to this process's exit; faked in unit tests.</summary>
internal interface ISuccessorProcess : IDisposable
{
    int Pid { get; }

    /// <summary>The next line the successor sent; <see cref="HandshakeRead.EndOfFile"/> once it is gone; <see cref="HandshakeRead.Nothing"/> when nothing came in time.</summary>
    HandshakeRead Read(TimeSpan timeout);

    /// <summary>
    /// Tells the successor its ready is accepted, so it may start accepting connections, and how many connections this
    /// process has to drain. False when it could not be told.
    /// </summary>
    bool Accept(int openConnections);

    /// <summary>Best effort, never blocks: how many connections this process still has while it drains.</summary>
    void ReportDraining(int connections);

    /// <summary>
    /// Passes an idle connection on: its descriptor (a copy; the caller closes its own), the listener it was accepted on,
    /// and the bytes read from it that no request used. False when the successor could not be told.
    /// </summary>
    bool MoveConnection(int fd, string listener, ReadOnlySpan<byte> unread);

    void Kill();

    /// <summary>
    /// Gives a successor started at a lower priority (Baton:StandbyNice, Baton:SuccessorNice) its parent's back now:
    /// a standby waited for by a SIGHUP, or about to be told "go". It takes it back itself at "go" too.
    /// </summary>
    void Hurry();

    ChildExit? TryReap();

    /// <summary>What the successor last wrote to standard error, summarized; null when nothing useful.</summary>
    string? LastWords();
}

/// <summary>Starts successors; faked in unit tests.</summary>
internal interface IProcessLauncher
{
    /// <summary>Starts a successor that inherits <paramref name="listeners"/>, as generation <paramref name="generation"/>.</summary>
    /// <param name="listeners">The listening sockets it inherits.</param>
    /// <param name="generation">Its generation.</param>
    /// <param name="standby">A standby: started ahead of any restart, it waits for its "go" as long as it takes, and
    /// leaves the pid file to the process serving until then.</param>
    ISuccessorProcess Start(IReadOnlyList<InheritedListener> listeners, int generation, bool standby);

    /// <summary>Asks a successor that already took over to stop gracefully (SIGTERM).</summary>
    void RequestStop(int pid);
}
