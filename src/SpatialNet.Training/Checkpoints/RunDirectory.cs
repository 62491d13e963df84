using SpatialNet.IO;
using SpatialNet.DependencyInjection;

namespace SpatialNet.Training.Checkpoints;

/// <summary>
/// The output folder of a training run: never mixes two runs. A non-empty folder is refused unless
/// the run resumes in it or overwriting is asked for; overwriting clears a previous run's folder
/// (one holding <c>config.json</c>) and refuses any other. Temporary files of killed writers are removed.
/// </summary>
internal static class RunDirectory
{
    /// <summary>File that marks a folder as a run's output folder.</summary>
    public const string MarkerFile = "config.json";

    /// <summary>Creates or checks <paramref name="directory"/> before a run writes into it.</summary>
    /// <param name="directory">The run's output folder (configuration <c>output_dir</c>).</param>
    /// <param name="resuming">The run continues a checkpoint: existing files are kept.</param>
    /// <param name="overwrite">Clear a previous run's folder first (<c>--overwrite</c>).</param>
    /// <exception cref="ConfigurationException">The folder is not empty and neither applies, or it is not a run folder.</exception>
    public static void Prepare(string directory, bool resuming, bool overwrite)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (File.Exists(directory))
            throw new ConfigurationException($"output_dir = '{directory}' is a file; allowed: a folder that is empty or does not exist yet.");
        Directory.CreateDirectory(directory);
        foreach (var folder in Directory.EnumerateDirectories(directory, "*", SearchOption.AllDirectories).Prepend(directory))
            AtomicFile.RemoveStale(folder);
        var entries = Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        if (entries.Count == 0 || resuming)
            return;
        var sample = string.Join(", ", entries.Take(4)) + (entries.Count > 4 ? $" and {entries.Count - 4} more" : "");
        if (!overwrite)
            throw new ConfigurationException(
                $"output_dir = '{directory}' is not empty ({sample}); a run never writes into another run's folder. " +
                "Allowed: an empty or new folder, --resume <checkpoint> to continue the run in it, or --overwrite (TrainingPipelineOptions.Overwrite) to replace it.");
        if (!File.Exists(Path.Combine(directory, MarkerFile)))
            throw new ConfigurationException(
                $"output_dir = '{directory}' holds files that are not a SpatialNet run ({sample}; no {MarkerFile}); --overwrite only replaces a previous run's folder. Choose an empty folder.");
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory))
        {
            if (Directory.Exists(entry))
                Directory.Delete(entry, recursive: true);
            else
                File.Delete(entry);
        }
    }
}
