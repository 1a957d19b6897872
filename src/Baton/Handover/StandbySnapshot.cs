using Baton.Interop;

namespace Baton.Handover;

/// <summary>
/// What a standby read, as it was just before it was started: each watched file (configuration, certificates, the app's
/// own files) and its <see cref="FileIdentity"/>. A standby is handed over to only while a snapshot taken now equals
/// the one taken before it started: it was taken first, so a file changed while the standby read it shows too.
/// </summary>
internal sealed class StandbySnapshot
{
    private readonly SortedDictionary<string, FileIdentity> _files;

    public StandbySnapshot(IEnumerable<KeyValuePair<string, FileIdentity>> files)
    {
        _files = new SortedDictionary<string, FileIdentity>(StringComparer.Ordinal);
        foreach (var (path, identity) in files)
        {
            _files[path] = identity;
        }
    }

    public int Count => _files.Count;

    /// <summary>Snapshots of the given paths now.</summary>
    public static StandbySnapshot Of(IEnumerable<string> paths) =>
        new(paths.Distinct(StringComparer.Ordinal).Select(path => KeyValuePair.Create(path, FileIdentity.Of(path))));

    /// <summary>Null when nothing changed since <paramref name="earlier"/>; else the first change, in words.</summary>
    public string? ChangeSince(StandbySnapshot earlier)
    {
        var changes = new List<string>();
        foreach (var (path, now) in _files)
        {
            if (!earlier._files.TryGetValue(path, out var then))
            {
                if (now.Exists)
                {
                    changes.Add($"{path} was added");
                }
            }
            else if (now != then)
            {
                changes.Add(Describe(path, then, now));
            }
        }

        foreach (var (path, then) in earlier._files)
        {
            if (then.Exists && !_files.ContainsKey(path))
            {
                changes.Add($"{path} is gone");
            }
        }

        return changes.Count switch
        {
            0 => null,
            1 => changes[0],
            _ => $"{changes[0]}, and {changes.Count - 1} more change(s)",
        };
    }

    private static string Describe(string path, FileIdentity then, FileIdentity now) =>
        (then.Exists, now.Exists) switch
        {
            (false, true) => $"{path} was created",
            (true, false) => $"{path} was removed",
            _ when then.Device != now.Device || then.Inode != now.Inode => $"{path} was replaced",
            _ => $"{path} was modified",
        };
}

/// <summary>Takes <see cref="StandbySnapshot"/>s of whatever a standby would read; the hosting layer knows what that is.</summary>
internal interface IStandbyWatch
{
    StandbySnapshot Take();
}
