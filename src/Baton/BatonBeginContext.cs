namespace Baton;

/// <summary>What the <see cref="BatonOptions.BeforeBegin"/> hook sees: the serving process and where it listens.</summary>
public sealed class BatonBeginContext
{
    internal BatonBeginContext(int processId, int generation, IReadOnlyList<string> addresses)
    {
        ProcessId = processId;
        Generation = generation;
        Addresses = addresses;
    }

    /// <summary>The pid of the process that is about to serve (the real one, not a parent's).</summary>
    public int ProcessId { get; }

    /// <summary>1 for the first process, then one more for each successful handover.</summary>
    public int Generation { get; }

    /// <summary>The addresses the server listens on, as Kestrel reports them.</summary>
    public IReadOnlyList<string> Addresses { get; }
}
