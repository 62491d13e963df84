namespace SpatialNet.Training.Checkpoints;

/// <summary>
/// Writes a file so that readers see either the old complete file or the new complete file, never a
/// partial one: the content goes to a temporary file in the same directory, is flushed to disk, and
/// is then renamed over the target (rename within a directory is atomic on POSIX file systems and
/// NTFS). If writing fails, the temporary file is deleted and the target is left untouched.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Prefix of temporary files (with the target's name after it), so stray ones are recognisable.</summary>
    public const string TempPrefix = ".tmp-";

    /// <summary>Writes <paramref name="path"/> atomically with <paramref name="write"/>; creates the directory if needed.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no directory.", nameof(path));
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $"{TempPrefix}{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
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

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
            // Best effort: the original exception matters more than a leftover temporary file.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
