using System.Globalization;

namespace Baton.Hosting;

/// <summary>
/// The pid file: written by whichever process serves, atomically (a reader sees the old pid or the new one, never a
/// half-written file), and removed only by a process that stops for good and still finds its own pid in it.
/// </summary>
internal sealed class PidFile(string path)
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public void Write(int pid)
    {
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        var temporary = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(Path)}.{pid}.tmp");
        File.WriteAllText(temporary, pid.ToString(CultureInfo.InvariantCulture) + "\n");
        File.Move(temporary, Path, overwrite: true);
    }

    public int? Read()
    {
        try
        {
            return int.TryParse(File.ReadAllText(Path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Deletes the file if it still names <paramref name="pid"/>; a successor's file is never touched.</summary>
    public bool DeleteIfOwnedBy(int pid)
    {
        if (Read() != pid)
        {
            return false;
        }

        File.Delete(Path);
        return true;
    }
}
