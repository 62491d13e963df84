using System.Diagnostics;
using System.Globalization;

namespace SpatialNet.IO;

/// <summary>
/// Writes a file so that readers see either the old complete file or the new complete file, never a
/// partial one: the content goes to a temporary file in the same directory, is flushed to disk, and
/// is then renamed over the target (rename within a directory is atomic on POSIX file systems and
/// NTFS). If writing fails, the temporary file is deleted and the target is left untouched; temporary
/// files a killed writer left behind are removed by the next write to the same target.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Prefix of temporary files (with the target's name after it), so stray ones are recognisable.</summary>
    public const string TempPrefix = ".tmp-";

    /// <summary>Writes <paramref name="path"/> atomically with <paramref name="write"/>; creates the directory if needed.</summary>
    /// <param name="path">The target file.</param>
    /// <param name="write">Writes the content.</param>
    /// <param name="removeStale">First remove temporaries of the same target left by writers that are gone
    /// (a scan of the folder: pass false for many small files in one folder, such as a cache).</param>
    public static void Write(string path, Action<Stream> write, bool removeStale = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no directory.", nameof(path));
        Directory.CreateDirectory(directory);
        if (removeStale)
            RemoveStale(directory, Path.GetFileName(full));
        var temp = Path.Combine(directory, $"{TempPrefix}{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        FileStream created;
        try
        {
            created = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot write '{full}': {e.Message}", e);
        }
        try
        {
            using (var stream = created)
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            try
            {
                File.Move(temp, full, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"Cannot write '{full}': {e.Message}", e);
            }
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 to <paramref name="path"/> atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s =>
        {
            using var writer = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true);
            writer.Write(text);
        });

    /// <summary>
    /// Deletes temporary files in <paramref name="directory"/> (for one target name, or all) whose writing
    /// process is no longer running; returns how many were removed.
    /// </summary>
    public static int RemoveStale(string directory, string? targetName = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
            return 0;
        int removed = 0;
        foreach (var file in Directory.EnumerateFiles(directory, TempPrefix + (targetName ?? "") + "*"))
        {
            // Name: .tmp-<target>.<pid>.<guid>
            var parts = Path.GetFileName(file).Split('.');
            if (parts.Length < 3 || !int.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || IsRunning(pid))
                continue;
            if (TryDelete(file))
                removed++;
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId)
            return true;
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool TryDelete(string file)
    {
        try
        {
            File.Delete(file);
            return true;
        }
        catch (IOException)
        {
            // Best effort: the original exception matters more than a leftover temporary file.
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
