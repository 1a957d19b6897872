using Baton.Interop;

namespace Baton.Handover;

/// <summary>
/// Reaps children that a kill did not end within the grace period (a process stuck in the kernel, in uninterruptible
/// sleep). It keeps trying, once a second, for as long as it takes: a child that is never reaped stays a zombie
/// for this process's whole life.
/// </summary>
internal static class ChildReaper
{
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);
    private static readonly List<ISuccessorProcess> Pending = [];

    public static int PendingCount
    {
        get
        {
            lock (Pending)
            {
                return Pending.Count;
            }
        }
    }

    /// <summary>Keeps killing and reaping <paramref name="child"/> (by pid: its other handles may be disposed); <paramref name="reaped"/> is told how it ended.</summary>
    public static void KeepTrying(ISuccessorProcess child, Action<ChildExit>? reaped = null)
    {
        lock (Pending)
        {
            Pending.Add(child);
        }

        _ = Task.Run(async () =>
        {
            while (true)
            {
                ChildExit? exit = null;
                try
                {
                    child.Kill();
                    exit = child.TryReap();
                }
                catch (Exception)
                {
                    // A failed attempt is tried again: giving up is what leaves the zombie.
                }

                if (exit is { } ended)
                {
                    lock (Pending)
                    {
                        Pending.Remove(child);
                    }

                    try
                    {
                        reaped?.Invoke(ended);
                    }
                    catch (Exception)
                    {
                        // Reaped is what mattered; a failing log line changes nothing.
                    }

                    return;
                }

                await Task.Delay(RetryInterval).ConfigureAwait(false);
            }
        });
    }
}
