using System.Globalization;

namespace Baton.Hosting;

/// <summary>
/// The pid file: written by whichever process serves, atomically (a reader sees the old pid or the new one, never a
/// half-written file), and removed only by a process that stops for good and still finds its own pid in it.
/// </summary>
internal sealed class PidFile(string path)
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>Why the file could not be written where it is configured, or null when it can (checked by writing).</summary>
    public static string? CheckWritable(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var directory = System.IO.Path.GetDirectoryName(full);
        if (directory is null || !Directory.Exists(directory))
        {
            return $"directory '{directory}' does not exist.";
        }

        try
        {
            // The same kind of write as the real one: a new file beside it. Access bits would not tell a read-only
            // file system or a restrictive ACL.
            var probe = TemporaryPath(full, "check");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"directory '{directory}' is not writable ({ex.Message}).";
        }
    }

    /// <summary>
    /// Writes a temporary file beside the target and renames it over the target. The temporary file is created new
    /// (O_EXCL), so a symbolic link planted under its name is never followed, and it never outlives a failed rename.
    /// </summary>
    public void Write(int pid)
    {
        var temporary = TemporaryPath(Path, pid.ToString(CultureInfo.InvariantCulture));
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                file.Write(System.Text.Encoding.ASCII.GetBytes(pid.ToString(CultureInfo.InvariantCulture) + "\n"));
            }

            File.Move(temporary, Path, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (IOException)
            {
                // The directory itself is gone: so is the temporary file. The first error is the one to report.
            }

            throw;
        }
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
    public void DeleteIfOwnedBy(int pid)
    {
        if (Read() == pid)
        {
            File.Delete(Path);
        }
    }

    private static string TemporaryPath(string target, string tag) =>
        System.IO.Path.Combine(
            System.IO.Path.GetDirectoryName(target)!,
            $".{System.IO.Path.GetFileName(target)}.{tag}.{Guid.NewGuid():N}.tmp");
}
