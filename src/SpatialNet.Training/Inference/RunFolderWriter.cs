using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using SpatialNet.Heads;
using SpatialNet.IO;
using SpatialNet.Models;
using SpatialNet.Training.Checkpoints;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Pipeline;
using SpatialNet.Weights;
using static TorchSharp.torch;

namespace SpatialNet.Training.Inference;

/// <summary>
/// Writes a run folder for a model trained from code (the <c>Trainer</c> on its own): <c>config.json</c>,
/// <c>data.json</c> and <c>model.safetensors</c>, the files <c>RunFolder</c> reads, so <c>spatialnet predict</c>,
/// <c>evaluate --run</c>, <c>export onnx</c> and <see cref="Predictor"/> accept it like a <c>spatialnet train</c> run.
/// </summary>
public static class RunFolderWriter
{
    /// <summary>Writes the run folder.</summary>
    /// <param name="directory">An empty or new folder.</param>
    /// <param name="configuration">The configuration the model was built from (<c>AddSpatialNet(configuration)</c>): model, tasks, data sources.</param>
    /// <param name="model">The trained model.</param>
    /// <param name="tasks">The model's tasks, with their head options (class counts, outputs), labels and target statistics, in configuration order.</param>
    /// <param name="normalization">Per-band statistics the training images were normalised with, on [0, 1] values; null: none.</param>
    /// <exception cref="SpatialNet.DependencyInjection.ConfigurationException">The configuration is invalid, or the folder is not empty.</exception>
    /// <exception cref="ArgumentException">The tasks do not match the configuration's, or a task needs text vocabularies (vqa, caption: write those runs with <see cref="TrainingPipeline"/>).</exception>
    public static void Save(string directory, IConfiguration configuration, MultiTaskModel model, IReadOnlyList<TaskDefinition> tasks, NormalizationStatistics? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tasks);
        var config = TrainingRunOptions.Bind(configuration);
        if (tasks.Count != config.Tasks.Count || tasks.Where((t, i) => t.Name != config.Tasks[i].Name).Any())
            throw new ArgumentException($"Tasks [{string.Join(", ", tasks.Select(t => t.Name))}] do not match the configuration's [{string.Join(", ", config.Tasks.Select(t => t.Name))}] (same names, same order).", nameof(tasks));
        if (tasks.FirstOrDefault(t => t.Kind == TaskKind.VisualQuestionAnswering || t.Kind == TaskKind.Captioning) is { } text)
            throw new ArgumentException($"Task '{text.Name}' ({text.Kind}) needs the run's text vocabularies; write its run with TrainingPipeline.", nameof(tasks));

        RunDirectory.Prepare(directory, resuming: false, overwrite: false);
        AtomicFile.WriteAllText(Path.Combine(directory, "config.json"), ConfigurationJson.Write(configuration));
        AtomicFile.WriteAllText(Path.Combine(directory, "data.json"), DataJson(config, tasks, normalization).ToJsonString(ConfigurationJson.Indented));
        using var scope = NewDisposeScope();
        var state = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.dtype == ScalarType.BFloat16 ? kv.Value.to(ScalarType.Float32) : kv.Value, StringComparer.Ordinal);
        StateDictFile.Write(Path.Combine(directory, TrainingPipeline.ModelFileName), state);
    }

    // The data.json that RunFolder.Open reads: each configured source with the images' bands, range and normalisation; each task's sizes.
    private static JsonObject DataJson(TrainingRunOptions config, IReadOnlyList<TaskDefinition> tasks, NormalizationStatistics? normalization)
    {
        var sources = new JsonArray();
        foreach (var s in config.Data.Sources)
        {
            var o = new JsonObject { ["name"] = s.Path is null ? s.Kind : Path.GetFileName(Path.TrimEndingDirectorySeparator(s.Path)), ["kind"] = s.Kind };
            if (normalization is not null)
                o["normalization"] = new JsonObject { ["mean"] = Numbers(normalization.Mean), ["std"] = Numbers(normalization.Std) };
            if (s.Bands is { } bands)
                o["bands"] = new JsonArray(bands.Select(b => (JsonNode?)b).ToArray());
            if (s.InputRangePairs() is { } range)
                o["input_range"] = new JsonArray(range.Select(r => (JsonNode?)new JsonArray(r.Low, r.High)).ToArray());
            o["targets"] = new JsonObject(config.Tasks.Where(t => s.TargetsOf(t) is not null)
                .Select(t => KeyValuePair.Create(t.Name, (JsonNode?)new JsonArray(s.TargetsOf(t)!.Select(k => (JsonNode?)k).ToArray()))));
            sources.Add(o);
        }
        var array = new JsonArray();
        for (int i = 0; i < tasks.Count; i++)
        {
            var t = tasks[i];
            var o = new JsonObject
            {
                ["name"] = t.Name,
                ["kind"] = config.Tasks[i].Kind,
                ["classes"] = TrainingPipeline.Classes(t),
                ["outputs"] = TrainingPipeline.Outputs(t),
                ["source"] = config.Data.Sources.FindIndex(s => s.TargetsOf(config.Tasks[i]) is not null),
            };
            if (t.Labels is { } labels)
                o["labels"] = new JsonArray(labels.Select(x => (JsonNode?)x).ToArray());
            // The regression head's target scaling: the data's statistics, else what the head options were given in code.
            var head = t.Head as RegressionHeadOptions;
            if ((t.Statistics?.Mean ?? head?.TargetMeans ?? (head is null ? null : Enumerable.Repeat(head.TargetMean, head.Outputs).ToArray())) is { } mean)
                o["target_mean"] = Numbers(mean);
            if ((t.Statistics?.Std ?? head?.TargetStds ?? (head is null ? null : Enumerable.Repeat(head.TargetStd, head.Outputs).ToArray())) is { } std)
                o["target_std"] = Numbers(std);
            array.Add(o);
        }
        return new JsonObject { ["sources"] = sources, ["tasks"] = array };
    }

    private static JsonArray Numbers(IEnumerable<double> values) => new(values.Select(v => (JsonNode?)(double.IsFinite(v) ? v : null)).ToArray());
}
