using Baton.Handover;
using Baton.Interop;

namespace Baton.Hosting;

/// <summary>
/// What this process knows of its place in the chain of generations: how it was started (to start a successor the
/// same way), what it inherited, and the pipe on which it owes its parent a "ready".
/// </summary>
internal sealed class HandoverContext
{
    private int _readyDescriptor;
    private int _standardErrorDescriptor;

    public HandoverContext(SuccessorCommand command, InheritedState? inherited)
    {
        Command = command;
        Inherited = inherited;
        _readyDescriptor = inherited?.ReadyDescriptor ?? -1;
        _standardErrorDescriptor = inherited?.StandardErrorDescriptor ?? -1;
        foreach (var fd in new[] { _readyDescriptor, _standardErrorDescriptor })
        {
            if (fd >= 0)
            {
                Descriptors.SetCloseOnExec(fd, true);
            }
        }
    }

    public SuccessorCommand Command { get; }

    public InheritedState? Inherited { get; }

    public int Generation => Inherited?.Generation ?? 1;

    /// <summary>
    /// Tells the parent this process serves, then closes the pipe. Only the first call writes. From here on standard
    /// error is the real one again, not the parent's relay: the parent is about to exit.
    /// </summary>
    public void ReportReady(int pid)
    {
        var stderr = Interlocked.Exchange(ref _standardErrorDescriptor, -1);
        if (stderr >= 0)
        {
            Descriptors.MoveTo(stderr, 2);
        }

        Send(HandshakeMessage.Ready(pid, Generation));
    }

    /// <summary>Tells the parent why this process will not serve; the parent logs it and keeps serving.</summary>
    public void ReportFailure(string reason) => Send(HandshakeMessage.Failed(reason));

    private void Send(string message)
    {
        var fd = Interlocked.Exchange(ref _readyDescriptor, -1);
        if (fd < 0)
        {
            return;
        }

        try
        {
            ReadyPipe.Write(fd, message);
        }
        catch (PosixException)
        {
            // The parent is gone (EPIPE): there is nobody left to tell.
        }
        finally
        {
            Descriptors.Close(fd);
        }
    }
}
