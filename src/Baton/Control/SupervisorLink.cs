using System.Globalization;
using System.Text;
using Baton.Handover;
using Baton.Interop;

namespace Baton.Control;

/// <summary>
/// Tells a <c>baton run</c> supervisor which process serves: every generation writes "serving PID GENERATION" when it
/// starts serving, and "stopping PID" when it stops for good (a handover is not a stop). The supervisor forwards
/// signals to the process that serves, and tells a worker that stopped on purpose from one that crashed.
/// </summary>
/// <remarks>A pipe shared by every generation: each line is one write of less than PIPE_BUF bytes, so lines never mix.</remarks>
internal sealed class SupervisorLink(int fd) : IBatonObserver
{
    public int Descriptor { get; } = fd;

    public void Serving(int generation) =>
        Write(string.Create(CultureInfo.InvariantCulture, $"serving {Environment.ProcessId} {generation}\n"));

    public void Stopping() =>
        Write(string.Create(CultureInfo.InvariantCulture, $"stopping {Environment.ProcessId}\n"));

    // A supervisor that is gone is nobody to tell (EPIPE; SIGPIPE is ignored by the runtime).
    private void Write(string line) => _ = DescriptorIo.Write(Descriptor, Encoding.ASCII.GetBytes(line));
}
