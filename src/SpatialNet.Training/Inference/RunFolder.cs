using SpatialNet.IO;
using System.Text.Json.Nodes;
using SpatialNet.Heads;
using SpatialNet.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Text;
using SpatialNet.Training.Pipeline;

namespace SpatialNet.Training.Inference;

/// <summary>
/// What a training run folder holds for inference, read in one place: the configuration
/// (<c>config.json</c>), the resolved data description (<c>data.json</c>: per-source normalisation,
/// class lists, answer and text vocabularies, per-task classes, outputs and target statistics) and
/// the trained weights (<c>model.safetensors</c>).
/// </summary>
internal sealed class RunFolder
{
    private RunFolder(string directory, IConfiguration configuration, TrainingRunOptions config, IReadOnlyList<RunSource> sources, IReadOnlyList<RunTask> tasks)
    {
        Directory = directory;
        Configuration = configuration;
        Config = config;
        Sources = sources;
        Tasks = tasks;
    }

    /// <summary>The run folder (full path).</summary>
    public string Directory { get; }

    /// <summary>The run's configuration as written by training (<c>config.json</c>).</summary>
    public IConfiguration Configuration { get; }

    /// <summary>The run's configuration, bound.</summary>
    public TrainingRunOptions Config { get; }

    /// <summary>The data sources the run trained on, in <c>data.json</c> order.</summary>
    public IReadOnlyList<RunSource> Sources { get; }

    /// <summary>The tasks, in model head order.</summary>
    public IReadOnlyList<RunTask> Tasks { get; }

    /// <summary>The trained weights, <c>model.safetensors</c>.</summary>
    public string WeightsPath => Path.Combine(Directory, TrainingPipeline.ModelFileName);

    /// <summary>Reads <c>config.json</c> and <c>data.json</c> of <paramref name="directory"/>.</summary>
    /// <exception cref="DatasetFileNotFoundException">The folder, a file or the weights are missing.</exception>
    /// <exception cref="DatasetFormatException"><c>data.json</c> lacks a field inference needs (named), e.g. a run written before it was recorded.</exception>
    /// <exception cref="SpatialNet.DependencyInjection.ConfigurationException"><c>config.json</c> is invalid.</exception>
    public static RunFolder Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full))
            throw new DatasetFileNotFoundException(full, null, "run folder not found (the output_dir of `spatialnet train`).");
        var configPath = Path.Combine(full, "config.json");
        var dataPath = Path.Combine(full, "data.json");
        foreach (var file in new[] { configPath, dataPath, Path.Combine(full, TrainingPipeline.ModelFileName) })
        {
            if (!File.Exists(file))
                throw new DatasetFileNotFoundException(file, null, "not in the run folder; is it a finished training run?");
        }
        var configuration = SpatialNetConfiguration.Load(configPath, environment: false);
        var config = TrainingRunOptions.Bind(configuration, configPath);
        var root = JsonFile.Object(JsonFile.Parse(dataPath), dataPath, "$");

        var sources = new List<RunSource>();
        var sourceArray = JsonFile.Array(root, "sources", dataPath, "sources");
        for (int i = 0; i < sourceArray.Count; i++)
            sources.Add(RunSource.Read(JsonFile.Object(sourceArray[i], dataPath, $"sources[{i}]"), dataPath, $"sources[{i}]", config.Data.Normalize));

        var taskArray = JsonFile.Array(root, "tasks", dataPath, "tasks");
        if (taskArray.Count != config.Tasks.Count)
            throw new DatasetFormatException(dataPath, "tasks", $"{taskArray.Count} tasks but config.json has {config.Tasks.Count}.");
        var tasks = new List<RunTask>();
        for (int i = 0; i < taskArray.Count; i++)
        {
            var at = $"tasks[{i}]";
            var o = JsonFile.Object(taskArray[i], dataPath, at);
            var taskConfig = config.Tasks[i];
            var name = JsonFile.String(o, "name", dataPath, at + ".name");
            if (name != taskConfig.Name)
                throw new DatasetFormatException(dataPath, at + ".name", $"'{name}' but config.json's tasks[{i}] is '{taskConfig.Name}'.");
            var kind = taskConfig.ParsedKind
                ?? throw new DatasetFormatException(configPath, at + ".kind", $"unknown kind '{taskConfig.Kind}'.");
            int classes = JsonFile.IntOrNull(o, "classes", dataPath, at + ".classes")
                ?? throw new DatasetFormatException(dataPath, at + ".classes", "missing: the run was written by an older version; train it again to predict with it.");
            int outputs = JsonFile.IntOrNull(o, "outputs", dataPath, at + ".outputs")
                ?? throw new DatasetFormatException(dataPath, at + ".outputs", "missing: the run was written by an older version; train it again to predict with it.");
            int sourceIndex = JsonFile.IntOrNull(o, "source", dataPath, at + ".source") ?? -1;
            if (sourceIndex < 0 || sourceIndex >= sources.Count)
                throw new DatasetFormatException(dataPath, at + ".source", $"{sourceIndex} is not a source index in [0, {sources.Count}).");
            var source = sources[sourceIndex];
            var labels = o["labels"] is JsonArray ? JsonFile.StringArray(o, "labels", dataPath, at + ".labels") : null;
            var text = kind switch
            {
                var kind_ when kind_ == TaskKind.VisualQuestionAnswering => source.Questions,
                var kind_ when kind_ == TaskKind.Captioning => source.Captions,
                _ => null,
            };
            var captionInput = kind == TaskKind.Captioning ? source.Targets.GetValueOrDefault(name)?.FirstOrDefault() : null;
            if (kind == TaskKind.VisualQuestionAnswering && !taskConfig.QuestionAgnostic && text is null)
                throw new DatasetFormatException(dataPath, $"sources[{sourceIndex}].question_encoder", $"missing for the vqa task '{name}'.");
            if (kind == TaskKind.Captioning && (text is null || captionInput is null))
                throw new DatasetFormatException(dataPath, $"sources[{sourceIndex}].caption_encoder", $"missing for the caption task '{name}'.");
            TrainingPipeline.FillHead(taskConfig, classes, outputs, text, captionInput);
            TrainingPipeline.NormalizeTargets(taskConfig, Numbers(o["target_mean"]), Numbers(o["target_std"]));
            tasks.Add(new RunTask(TrainingPipeline.Describe(taskConfig, labels), sourceIndex));
        }
        return new RunFolder(full, configuration, config, sources, tasks);
    }

    /// <summary>The run's model with freshly initialised weights (load <see cref="WeightsPath"/> into it).</summary>
    public MultiTaskModel CreateModel()
    {
        // The same registrations training built the model from; the model outlives the provider's scope.
        var provider = TrainingPipeline.BuildModelServices(Configuration, Config.Tasks, Tasks.Select(t => t.Task).ToList(), Config.Model, Config.Seed);
        return provider.GetRequiredService<MultiTaskModel>();
    }

    // NaN for JSON null (data.json writes non-finite statistics as null).
    private static double[]? Numbers(JsonNode? node) =>
        node is JsonArray array ? array.Select(v => v is null ? double.NaN : v.GetValue<double>()).ToArray() : null;

    /// <summary>One task of the run.</summary>
    /// <param name="Task">The task as training described it (head options with the data's sizes, labels).</param>
    /// <param name="SourceIndex">The data source that served it (its normalisation and vocabularies apply).</param>
    internal sealed record RunTask(TaskDefinition Task, int SourceIndex)
    {
        public string Name => Task.Name;

        public TaskKind Kind => Task.Kind;

        /// <summary>The kind of its head (a question-agnostic vqa task has a classification head).</summary>
        public TaskKind HeadKind => TrainingPipeline.HeadKind(Task);
    }

    /// <summary>One data source of the run: how its images were normalised, its vocabularies.</summary>
    /// <summary>
    /// How the run reads an image file: the first source's bands and input range (recorded in data.json), at native
    /// precision, resized to the model's size. Runs without a recorded band list read every band.
    /// </summary>
    public ImageLoadOptions ImageOptions => new()
    {
        SelectBands = Sources.Count > 0 ? Sources[0].Bands?.Select(b => b - 1).ToArray() : null,
        InputRange = Sources.Count > 0 ? Sources[0].InputRange : null,
        NativePrecision = true,
        ExpectedBands = Config.Model.InChannels,
        Height = Config.Model.ImageSize,
        Width = Config.Model.ImageSize,
    };

    internal sealed record RunSource(string Name, IReadOnlyList<double>? Mean, IReadOnlyList<double>? Std, AnswerVocabulary? Answers,
        TextEncoder? Questions, TextEncoder? Captions, IReadOnlyDictionary<string, IReadOnlyList<string>> Targets)
    {
        /// <summary>The bands read, 1-based; null: every band.</summary>
        public IReadOnlyList<int>? Bands { get; init; }

        /// <summary>The raw values mapped to [0, 1] (one pair or one per band); null: the sample type's range.</summary>
        public IReadOnlyList<(double Low, double High)>? InputRange { get; init; }

        public static RunSource Read(JsonObject o, string file, string at, bool normalize)
        {
            var name = JsonFile.String(o, "name", file, at + ".name");
            IReadOnlyList<double>? mean = null, std = null;
            if (normalize && o["normalization"] is JsonObject n)
            {
                mean = Numbers(n["mean"]);
                std = Numbers(n["std"]);
                if (mean is null || std is null || mean.Count != std.Count || mean.Count == 0 || std.Any(s => !(s > 0)) || mean.Any(m => !double.IsFinite(m)))
                    throw new DatasetFormatException(file, at + ".normalization", "mean and std must be equal-length lists with finite means and positive std.");
            }
            var answers = o["answers"] is { } a ? AnswerVocabulary.FromJson(a, file) : null;
            var questions = o["question_encoder"] is { } q ? TextEncoder.FromJson(q, file) : null;
            var captions = o["caption_encoder"] is { } c ? TextEncoder.FromJson(c, file) : null;
            var targets = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            if (o["targets"] is JsonObject t)
            {
                foreach (var (task, _) in t)
                    targets[task] = JsonFile.StringArray(t, task, file, $"{at}.targets.{task}");
            }
            IReadOnlyList<int>? bands = null;
            if (o["bands"] is JsonArray b)
            {
                bands = b.Select(v => v?.GetValue<int>() ?? 0).ToArray();
                if (bands.Count == 0 || bands.Any(v => v < 1))
                    throw new DatasetFormatException(file, at + ".bands", "1-based band numbers expected.");
            }
            IReadOnlyList<(double, double)>? range = null;
            if (o["input_range"] is JsonArray r)
            {
                var pairs = r.Select(p => Numbers(p)).ToArray();
                if (pairs.Length == 0 || pairs.Any(p => p is not { Length: 2 } || !(p[1] > p[0])))
                    throw new DatasetFormatException(file, at + ".input_range", "[[low, high], …] pairs with high > low expected.");
                range = pairs.Select(p => (p![0], p[1])).ToArray();
            }
            return new RunSource(name, mean, std, answers, questions, captions, targets) { Bands = bands, InputRange = range };
        }
    }
}
