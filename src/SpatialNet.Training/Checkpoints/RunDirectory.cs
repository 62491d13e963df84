using System.Text.Json;
using System.Text.Json.Nodes;
using SpatialNet.IO;
using SpatialNet.DependencyInjection;

namespace SpatialNet.Training.Checkpoints;

/// <summary>
/// The output folder of a training run: never mixes two runs. A run writes a manifest,
/// <see cref="ManifestFile"/>, naming the entries it writes; a folder without it is not a run. A
/// non-empty folder is refused unless the run resumes in it or overwriting is asked for; overwriting
/// removes only the entries a previous run's manifest names and refuses a folder without one.
/// Temporary files of killed writers are removed. docs/reliability.md states the rules.
/// </summary>
internal static class RunDirectory
{
    /// <summary>The manifest that marks a folder as a run's output folder and names what the run wrote.</summary>
    public const string ManifestFile = "spatialnet-run.json";

    private const string FormatName = "spatialnet-run";

    /// <summary>The entries a training run writes into its folder (evaluations add their reports with <see cref="Record"/>).</summary>
    public static IReadOnlyList<string> RunOutputs { get; } =
    [
        "config.json", "data.json", "checkpoints", "history.json", "history.csv", "steps.csv",
        "loss_curves.png", "task_weights.png", "score_curves.png", "error_curves.png", "caption_curves.png",
        "model.safetensors", "report.json", "report.md", "report_test.json", "report_test.md",
    ];

    /// <summary>Creates or checks <paramref name="directory"/> before a run writes into it, and writes its manifest.</summary>
    /// <param name="directory">The run's output folder (configuration <c>output_dir</c>).</param>
    /// <param name="resuming">The run continues a checkpoint: existing files are kept.</param>
    /// <param name="overwrite">Remove what a previous run wrote first (<c>--overwrite</c>).</param>
    /// <exception cref="ConfigurationException">The folder is not empty and neither applies, or it is not a run folder.</exception>
    public static void Prepare(string directory, bool resuming, bool overwrite)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (File.Exists(directory))
            throw new ConfigurationException($"output_dir = '{directory}' is a file; allowed: a folder that is empty or does not exist yet.");
        Directory.CreateDirectory(directory);
        foreach (var folder in Directory.EnumerateDirectories(directory, "*", SearchOption.AllDirectories).Prepend(directory))
            AtomicFile.RemoveStale(folder);
        var entries = Entries(directory);
        if (entries.Count > 0 && !resuming)
        {
            var sample = Sample(entries);
            if (!overwrite)
                throw new ConfigurationException(
                    $"output_dir = '{directory}' is not empty ({sample}); a run never writes into another run's folder. " +
                    "Allowed: an empty or new folder, --resume <checkpoint> to continue the run in it, or --overwrite (TrainingPipelineOptions.Overwrite) to replace it.");
            var written = ReadManifest(directory) ?? throw new ConfigurationException(
                $"output_dir = '{directory}' is not a SpatialNet run folder ({sample}; no {ManifestFile}, the manifest a run writes); " +
                "--overwrite only removes what a previous run wrote. Choose an empty folder, or remove the files yourself.");
            foreach (var name in written.Append(ManifestFile))
            {
                var entry = Path.Combine(directory, name);
                if (Directory.Exists(entry))
                    Directory.Delete(entry, recursive: true);
                else if (File.Exists(entry))
                    File.Delete(entry);
            }
        }

        Record(directory, RunOutputs);
    }

    /// <summary>Adds <paramref name="names"/> (entries of <paramref name="directory"/>) to its manifest, creating it if needed.</summary>
    public static void Record(string directory, IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var all = new SortedSet<string>(ReadManifest(directory) ?? [], StringComparer.Ordinal);
        foreach (var n in names)
        {
            if (!IsEntryName(n))
                throw new ArgumentException($"'{n}' is not a file or folder name inside the run folder.", nameof(names));
            all.Add(n);
        }

        var json = new JsonObject
        {
            ["format"] = FormatName,
            ["written"] = new JsonArray(all.Select(n => (JsonNode?)n).ToArray()),
        };
        AtomicFile.WriteAllText(Path.Combine(directory, ManifestFile), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Whether <paramref name="directory"/> holds a run's manifest.</summary>
    public static bool IsRun(string directory) => ReadManifest(directory) is not null;

    // The names a run's manifest lists; null when there is no manifest or it is not one (then nothing is removed).
    private static IReadOnlyList<string>? ReadManifest(string directory)
    {
        var path = Path.Combine(directory, ManifestFile);
        if (!File.Exists(path))
            return null;
        try
        {
            if (JsonNode.Parse(File.ReadAllText(path)) is not JsonObject o || (string?)o["format"] != FormatName || o["written"] is not JsonArray written)
                return null;
            var names = written.Select(n => n?.GetValueKind() == JsonValueKind.String ? (string?)n : null).ToList();
            // A name that leaves the folder (../x, /x) makes the whole manifest untrusted.
            return names.All(n => n is not null && IsEntryName(n)) ? names.Select(n => n!).ToList() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsEntryName(string name) =>
        !string.IsNullOrWhiteSpace(name) && name is not ("." or "..") && name != ManifestFile
        && name.IndexOfAny([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar]) < 0 && !Path.IsPathRooted(name);

    // The folder's entries besides the manifest (a folder holding only a manifest is a run that wrote nothing yet).
    private static List<string> Entries(string directory) =>
        Directory.EnumerateFileSystemEntries(directory).Select(e => Path.GetFileName(e)!).Where(n => n != ManifestFile).Order(StringComparer.Ordinal).ToList();

    private static string Sample(List<string> entries) => string.Join(", ", entries.Take(4)) + (entries.Count > 4 ? $" and {entries.Count - 4} more" : "");
}
