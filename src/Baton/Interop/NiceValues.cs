using System.Globalization;
using System.Runtime.InteropServices;

namespace Baton.Interop;

/// <summary>
/// Nice values. On Linux a nice value belongs to a thread (setpriority with PRIO_PROCESS and a thread id), and a new
/// thread - or a process started from it - takes its creator's. Raising a nice value (less CPU) is always allowed;
/// lowering it needs CAP_SYS_NICE or an RLIMIT_NICE that allows it.
/// </summary>
internal static class NiceValues
{
    /// <summary>The calling thread's nice value.</summary>
    public static int Current()
    {
        var value = Libc.GetPriority(Libc.PRIO_PROCESS, (uint)Libc.GetTid());
        if (value == -1 && Marshal.GetLastPInvokeError() != 0)
        {
            throw PosixException.FromLastError("getpriority");
        }

        return value;
    }

    /// <summary>Sets one thread's nice value; false when not allowed (EACCES, EPERM) or the thread is gone (ESRCH).</summary>
    public static bool TrySet(int threadId, int nice) => Libc.SetPriority(Libc.PRIO_PROCESS, (uint)threadId, nice) == 0;

    /// <summary>
    /// Whether this process may take a nice value back down once it raised it: tried on a thread of its own, which
    /// raises its nice value by one and lowers it again.
    /// </summary>
    public static bool CanLowerAgain()
    {
        var allowed = false;
        var probe = new Thread(() =>
        {
            var tid = Libc.GetTid();
            var nice = Current();
            allowed = nice < 19 && TrySet(tid, nice + 1) && TrySet(tid, nice);
        })
        { IsBackground = true, Name = "Baton nice probe" };
        probe.Start();
        probe.Join();
        return allowed;
    }

    /// <summary>
    /// Runs <paramref name="action"/> on a new thread whose nice value is <paramref name="raiseBy"/> above the caller's -
    /// and, with <paramref name="idle"/>, under SCHED_IDLE - so that a process it starts begins with that priority (and so
    /// does every thread that process creates).
    /// </summary>
    public static T RunNiced<T>(int raiseBy, Func<T> action, bool idle = false)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                var tid = Libc.GetTid();
                _ = TrySet(tid, Math.Min(19, Current() + raiseBy));
                if (idle)
                {
                    _ = TrySetPolicy(tid, Libc.SCHED_IDLE);
                }

                result = action();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        { IsBackground = true, Name = "Baton niced spawn" };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return result;
    }

    /// <summary>
    /// Whether this process runs under SCHED_OTHER (the default policy), the only one a new process is moved from to
    /// SCHED_IDLE and back: a service an operator put under another policy keeps it. False also where the C library
    /// does not implement the call (musl answers ENOSYS).
    /// </summary>
    public static bool RunsNormalPolicy() => Libc.SchedGetScheduler(Libc.GetTid()) == Libc.SCHED_OTHER;

    private static unsafe bool TrySetPolicy(int threadId, int policy)
    {
        var priority = 0;
        return Libc.SchedSetScheduler(threadId, policy, &priority) == 0;
    }

    /// <summary>
    /// Sets every thread of this process (or of process <paramref name="pid"/>: a child) to <paramref name="nice"/>, again
    /// until a pass finds none left to change (a thread created during a pass by one not yet changed takes the old
    /// value). With <paramref name="leaveIdle"/>, a thread under SCHED_IDLE goes back to SCHED_OTHER first (its nice value
    /// means nothing under SCHED_IDLE). False when not allowed, or the process is gone.
    /// </summary>
    public static bool TrySetAllThreads(int nice, int pid = 0, bool leaveIdle = false)
    {
        var tasksOf = pid == 0 ? "/proc/self/task" : $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/task";
        for (var pass = 0; pass < 5; pass++)
        {
            var changed = 0;
            string[] tasks;
            try
            {
                tasks = Directory.GetDirectories(tasksOf);
            }
            catch (IOException)
            {
                return false;
            }

            foreach (var directory in tasks)
            {
                if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var tid))
                {
                    continue;
                }

                if (leaveIdle && Libc.SchedGetScheduler(tid) == Libc.SCHED_IDLE)
                {
                    if (!TrySetPolicy(tid, Libc.SCHED_OTHER))
                    {
                        if (Denied())
                        {
                            return false;
                        }

                        continue;
                    }

                    changed++;
                }

                var current = Libc.GetPriority(Libc.PRIO_PROCESS, (uint)tid);
                if (current == nice || (current == -1 && Marshal.GetLastPInvokeError() != 0))
                {
                    continue;
                }

                if (!TrySet(tid, nice))
                {
                    if (Denied())
                    {
                        return false;
                    }

                    continue;
                }

                changed++;
            }

            if (changed == 0)
            {
                return true;
            }
        }

        return true;
    }

    /// <summary>The last call was refused (EPERM, EACCES), rather than finding its thread gone (ESRCH).</summary>
    private static bool Denied() => Marshal.GetLastPInvokeError() is 1 /* EPERM */ or 13 /* EACCES */;
}
