using SpatialNet.Training.Batching;
using SpatialNet.IO;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Heads.Dense;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Checkpoints;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Optimization;
using SpatialNet.Training.Randomness;
using SpatialNet.Training.Transforms;
using SpatialNet.Weights;
using TorchSharp;
using static TorchSharp.torch;


namespace SpatialNet.Training.Pipeline;

/// <summary>Optional parts of a <see cref="TrainingPipeline"/> run.</summary>
public sealed class TrainingPipelineOptions
{
    /// <summary>Progress sink; null uses the console line when the configuration's <c>show_progress</c> is on.</summary>
    public ITrainingProgress? Progress { get; init; }

    /// <summary>
    /// A checkpoint (<c>last.safetensors</c>) to resume from, or null. With <c>"precision": "auto"</c>
    /// the run continues in the precision the checkpoint was written with (so a run started on a GPU
    /// in bf16 mixed precision can continue on a CPU, and the reverse).
    /// </summary>
    public string? ResumeFrom { get; init; }

    /// <summary>Remove what a previous run wrote in the output folder (the entries its <c>spatialnet-run.json</c> names; a folder without one is refused); docs/reliability.md.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Stop after this many optimizer steps in total (saving <c>last.safetensors</c>, to resume later), or null.</summary>
    public long? MaxSteps { get; init; }
}

/// <summary>What a <see cref="TrainingPipeline"/> run produced.</summary>
/// <param name="Training">The trainer's result (stop reason, epochs, history, checkpoints).</param>
/// <param name="Report">Evaluation of the selected weights on the evaluation split.</param>
/// <param name="TestReport">Evaluation on the test split, when configured.</param>
/// <param name="OutputDirectory">The run's folder.</param>
/// <param name="ModelWeights">The trained model's weights (<c>model.safetensors</c>, the model's state-dict names).</param>
/// <param name="ReportJson">Path of the JSON report.</param>
/// <param name="ReportMarkdown">Path of the Markdown report.</param>
/// <param name="ElapsedSeconds">Wall time of the whole run.</param>
public sealed record TrainingRunResult(TrainingResult Training, EvaluationReport Report, EvaluationReport? TestReport, string OutputDirectory,
    string ModelWeights, string ReportJson, string ReportMarkdown, double ElapsedSeconds);

/// <summary>
/// Runs a configured training end to end (<see cref="TrainingRunOptions"/> bound from an
/// <see cref="IConfiguration"/>): opens the data sources, computes each source's normalisation
/// statistics and the tasks' target statistics on the training split, builds the model through
/// <c>AddSpatialNet(configuration)</c> with the data's sizes filled in, trains with <see cref="Trainer"/>
/// (multi-task losses through <see cref="MultiTaskTrainable"/>, batches through <see cref="DatasetBatchSource"/>,
/// evaluation and early stopping through <see cref="MultiTaskEvaluator"/>), then evaluates the best
/// weights and writes the reports. <see cref="Evaluate(string, string?, string?)"/> scores saved weights the same way.
/// Registered by <c>services.AddSpatialNetTraining(configuration)</c>.
/// </summary>
/// <remarks>
/// Output folder: <c>checkpoints/last.safetensors</c>, <c>checkpoints/best.safetensors</c>,
/// <c>model.safetensors</c> (the model alone), <c>config.json</c> (the configuration as run), <c>splits.json</c> (each split's origin, size and files), <c>data.json</c> (normalisation
/// statistics, class lists, answer vocabularies, target statistics), <c>history.json</c>/<c>.csv</c>,
/// <c>steps.csv</c>, curves as PNG, <c>report.json</c>/<c>report.md</c> (and <c>report_test.*</c>).
/// </remarks>
public sealed partial class TrainingPipeline
{
    /// <summary>Name of the plain model weights file in the output folder.</summary>
    public const string ModelFileName = "model.safetensors";

    private readonly IConfiguration _configuration;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<ITrainerCallback> _callbacks;
    private readonly IReportWriter _reports;
    private readonly IBatchSourceFactory _batches;
    private readonly IReadOnlyList<IEvaluatorFactory> _evaluators;
    private readonly RunComponents _components;

    /// <summary>Creates the run of <paramref name="configuration"/>.</summary>
    /// <param name="configuration">The run's configuration (<see cref="SpatialNetConfiguration.Load"/>).</param>
    /// <param name="logger">Logger, or null.</param>
    /// <param name="callbacks">Trainer callbacks added to the standard ones (<see cref="Trainer.StandardCallbacks"/>: checkpoints, early stopping; progress and history are the trainer's own).</param>
    public TrainingPipeline(IConfiguration configuration, ILogger<TrainingPipeline>? logger = null, IEnumerable<ITrainerCallback>? callbacks = null)
        : this([.. Trainer.StandardCallbacks(), .. callbacks ?? []], new EvaluationReportWriter(), new BatchSourceFactory(), [], configuration, logger, RunComponents.BuiltIn)
    {
    }

    private TrainingPipeline(IReadOnlyList<ITrainerCallback> callbacks, IReportWriter reports, IBatchSourceFactory batches,
        IReadOnlyList<IEvaluatorFactory> evaluators, IConfiguration configuration, ILogger? logger, RunComponents components)
    {
        _components = components;
        _batches = batches;
        _evaluators = evaluators;
        _configuration = configuration ?? throw new ArgumentNullException(nameof(configuration));
        _logger = logger ?? NullLogger.Instance;
        _callbacks = callbacks;
        _reports = reports;
    }

    /// <summary>
    /// The container's pipeline: the registered callbacks are the whole set (the standard ones are
    /// registered too, so a host can remove or replace them); reports go through the registered writer,
    /// training batches through the registered batch-source factory.
    /// </summary>
    internal static TrainingPipeline FromContainer(IConfiguration configuration, ILogger? logger, IEnumerable<ITrainerCallback> callbacks,
        IReportWriter reports, IBatchSourceFactory batches, IEnumerable<IEvaluatorFactory> evaluators, RunComponents components) =>
        new([.. callbacks], reports, batches, [.. evaluators], configuration, logger, components);

    /// <summary>The run's options, bound and validated.</summary>
    /// <exception cref="ConfigurationException">Unknown keys or invalid values, each named.</exception>
    public TrainingRunOptions Options => TrainingRunOptions.Bind(_configuration, null, _components);

    /// <summary>Trains and evaluates as configured.</summary>
    /// <exception cref="ConfigurationException">The configuration is invalid or does not fit the data.</exception>
    public TrainingRunResult Run(TrainingPipelineOptions? options = null, CancellationToken cancellationToken = default)
    {
        var configuration = PretrainedByName.WithModel(_configuration);
        var config = TrainingRunOptions.Bind(configuration, null, _components);
        return RunValidated(configuration, config, _logger, cancellationToken, options ?? new TrainingPipelineOptions(), _callbacks, _reports, _batches, _evaluators,
            _components);
    }

    /// <summary>Trains and evaluates <paramref name="configuration"/> (a run without a container).</summary>
    /// <exception cref="ConfigurationException">The configuration is invalid or does not fit the data.</exception>
    public static TrainingRunResult Run(IConfiguration configuration, ILogger? logger = null, CancellationToken cancellationToken = default,
        TrainingPipelineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration = PretrainedByName.WithModel(configuration);
        var config = TrainingRunOptions.Bind(configuration);
        return RunValidated(configuration, config, logger ?? NullLogger.Instance, cancellationToken, options ?? new TrainingPipelineOptions(),
            Trainer.StandardCallbacks(), new EvaluationReportWriter(), new BatchSourceFactory(), [], RunComponents.BuiltIn);
    }

    private static TrainingRunResult RunValidated(IConfiguration configuration, TrainingRunOptions config, ILogger logger, CancellationToken cancellationToken,
        TrainingPipelineOptions options, IReadOnlyList<ITrainerCallback> callbacks, IReportWriter reports, IBatchSourceFactory batches,
        IReadOnlyList<IEvaluatorFactory> evaluatorFactories, RunComponents components)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        // "auto" resumes in the checkpoint's own precision rather than the one this device would pick.
        PrecisionMode? precision = options.ResumeFrom is { } from && config.Trainer.Precision == PrecisionMode.Auto && File.Exists(from)
            ? TrainingCheckpoint.ReadInfo(from).Precision
            : null;
        using var run = RunSetup.Create(configuration, config, logger, forTraining: true, components, precision);
        // Split names are checked before training. A test split is evaluated when the data has it (a
        // configuration may name one that only the held-out copy of a data set carries): said at start and in the report.
        var evaluator = run.Evaluator(config.Data.EvalSplit);
        var testEvaluator = config.Data.TestSplit is { } testSplit ? run.Evaluator(testSplit) : null;
        string? missingTest = config.Data.TestSplit is { } named && testEvaluator is null
            ? $"data:test_split = \"{named}\": no source has this split, so no report_test is written"
            : null;
        if (missingTest is not null)
            Log.NoTestSplit(logger, missingTest);
        if (evaluator is null && testEvaluator is null)
            throw new ConfigurationException(
                $"data:eval_split = \"{config.Data.EvalSplit}\": no source has this split, so nothing can be evaluated; add the split (e.g. val_count for synthetic data).");
        RunDirectory.Prepare(config.OutputDir, resuming: options.ResumeFrom is not null, options.Overwrite);
        AtomicFile.WriteAllText(Path.Combine(config.OutputDir, "config.json"), ConfigurationJson.Write(configuration));
        AtomicFile.WriteAllText(Path.Combine(config.OutputDir, "data.json"), run.DataJson().ToJsonString(ConfigurationJson.Indented));
        var splits = run.SplitRecords(config.Data.EvalSplit, config.Data.TestSplit);
        AtomicFile.WriteAllText(Path.Combine(config.OutputDir, SplitsFileName), RunSetup.SplitsJson(splits).ToJsonString(ConfigurationJson.Indented));

        var trainBatches = run.TrainBatches();
        using var deviceCache = config.Data.DeviceCache ? run.DeviceCache() : null;
        IBatchSource source = deviceCache is null ? batches.CreateTraining(trainBatches, config.Data.Prefetch)
            : config.Data.Prefetch > 0 ? new Prefetcher(deviceCache, config.Data.Prefetch) : deviceCache;
        var hostEvaluators = evaluatorFactories.SelectMany(f => f.Create(run.Model, config.Data.EvalSplit)).ToList();
        var trainerOptions = run.TrainerOptions(evaluator is not null);
        trainerOptions.MaxSteps = options.MaxSteps;
        var epochEvaluator = run.WithCaptions(evaluator, config.Data.EvalSplit);
        if (hostEvaluators.Count > 0)
            epochEvaluator = new EvaluatorGroup(config.Data.EvalSplit, epochEvaluator is null ? hostEvaluators : [epochEvaluator, .. hostEvaluators]);
        using var trainer = new Trainer(run.Trainable, source, trainerOptions, epochEvaluator, logger, options.Progress, callbacks);
        run.PrepareBatches = trainer.PrepareBatch;
        if (options.ResumeFrom is { } resume)
            trainer.ResumeFrom(resume);
        var result = trainer.Fit(cancellationToken);
        // Interrupted: the trainer saved checkpoints/last.safetensors at the step boundary; no evaluation, no report.
        cancellationToken.ThrowIfCancellationRequested();

        // The reported model is the best checkpoint's (or the last state without a monitored metric),
        // at full precision: under mixed precision the float32 master weights, not their bfloat16 copy.
        var selected = result.BestCheckpoint ?? result.LastCheckpoint;
        var full = selected is not null
            ? CheckpointModelWeights(selected)
            : ModelState(MasterOverlay(run.Trainable.Module.state_dict(), trainer.Optimizer.Parameters.MasterWeights()));
        if (selected is not null)
            ModelWeights.Load(run.Model, full, null, selected);
        var weights = Path.Combine(config.OutputDir, ModelFileName);
        StateDictFile.Write(weights, full);

        EvaluationReport? report = null;
        EvaluationReport? test = null;
        var facts = new List<KeyValuePair<string, string>>
        {
            new("weights", selected is null ? "final state" : Path.GetFileName(selected)),
            new("stopped", result.StopReason.ToString()),
            new("epochs", result.EpochsCompleted.ToString(CultureInfo.InvariantCulture)),
            new("steps", result.GlobalStep.ToString(CultureInfo.InvariantCulture)),
            new("monitored", trainerOptions.MonitorMetric is { } m ? $"{m} (best {Fmt(result.BestValue)} at epoch {result.BestEpoch})" : "none"),
            new("training time", $"{clock.Elapsed.TotalSeconds:F1} s"),
            new("precision", trainer.Precision == PrecisionMode.BFloat16Mixed
                ? "bf16-mixed (evaluated with the bfloat16 model; model.safetensors holds the float32 master weights)"
                : "float32"),
        };
        facts.AddRange(RunSetup.SplitFacts(splits));
        facts.Add(new("hyperparameters", Hyperparameters(config)));
        facts.Add(new("reproduce", $"spatialnet train --config \"{Path.GetFullPath(Path.Combine(config.OutputDir, "config.json"))}\" --output <new folder>"));
        if (missingTest is not null)
            facts.Add(new("test split", missingTest));
        if (evaluator is not null)
        {
            report = run.Report(evaluator.Run(trainer.PrepareBatch), facts, trainer.PrepareBatch);
            foreach (var host in hostEvaluators)
                host.AddTo(report, trainer.PrepareBatch);
        }
        if (testEvaluator is not null)
        {
            test = run.Report(testEvaluator.Run(trainer.PrepareBatch), facts, trainer.PrepareBatch);
            foreach (var host in evaluatorFactories.SelectMany(f => f.Create(run.Model, config.Data.TestSplit!)))
                host.AddTo(test, trainer.PrepareBatch);
        }
        report ??= test!;
        var (json, markdown) = reports.Write(report, config.OutputDir, "report");
        if (test is not null)
            reports.Write(test, config.OutputDir, "report_test");
        Log.Finished(logger, config.OutputDir, clock.Elapsed.TotalSeconds);
        return new TrainingRunResult(result, report, test, config.OutputDir, weights, json, markdown, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// Evaluates saved weights — a training checkpoint (<c>best.safetensors</c>) or the plain
    /// <c>model.safetensors</c> — on a split, and writes <c>report_{split}.json</c>/<c>.md</c> into
    /// <paramref name="outputDirectory"/> (default: the configuration's output folder).
    /// </summary>
    /// <exception cref="ConfigurationException">The configuration is invalid, or no source has the split.</exception>
    public EvaluationReport Evaluate(string checkpoint, string? split = null, string? outputDirectory = null) =>
        Evaluate(_configuration, checkpoint, split, outputDirectory, _logger, _reports, _components);

    /// <summary>Evaluates saved weights as <see cref="Evaluate(string, string?, string?)"/> does, for <paramref name="configuration"/>.</summary>
    /// <exception cref="ConfigurationException">The configuration is invalid, or no source has the split.</exception>
    public static EvaluationReport Evaluate(IConfiguration configuration, string checkpoint, string? split = null, string? outputDirectory = null,
        ILogger? logger = null, IReportWriter? reports = null) =>
        Evaluate(configuration, checkpoint, split, outputDirectory, logger, reports, RunComponents.BuiltIn);

    private static EvaluationReport Evaluate(IConfiguration configuration, string checkpoint, string? split, string? outputDirectory,
        ILogger? logger, IReportWriter? reports, RunComponents components)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(checkpoint);
        configuration = PretrainedByName.WithModel(configuration);
        var config = TrainingRunOptions.Bind(configuration, null, components);
        if (!File.Exists(checkpoint))
            throw new FileNotFoundException($"Checkpoint '{checkpoint}' not found.", checkpoint);
        logger ??= NullLogger.Instance;
        split ??= config.Data.EvalSplit;
        using var scope = NewDisposeScope();
        using var run = RunSetup.Create(configuration, config, logger, forTraining: false, components);
        LoadWeights(run.Model, checkpoint);
        var evaluator = run.Evaluator(split)
            ?? throw new ConfigurationException($"Split '{split}' (--split / data:eval_split): no data source has it.");
        var report = run.Report(evaluator.Run(), [new("weights", Path.GetFullPath(checkpoint))]);
        var folder = outputDirectory ?? config.OutputDir;
        (reports ?? new EvaluationReportWriter()).Write(report, folder, "report_" + split);
        if (RunDirectory.IsRun(folder))
            RunDirectory.Record(folder, ["report_" + split + ".json", "report_" + split + ".md"]);
        return report;
    }

    /// <summary>
    /// Loads weights into <paramref name="model"/> from a training checkpoint (entries <c>model.model.*</c>
    /// written by the trainer around a <see cref="MultiTaskTrainable"/>, read at full precision) or from
    /// a plain state-dict file.
    /// </summary>
    /// <exception cref="WeightLoadException">The weights do not match the model.</exception>
    public static LoadReport LoadWeights(MultiTaskModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        if (IsTrainingCheckpoint(path))
        {
            using var scope = NewDisposeScope();
            return ModelWeights.Load(model, CheckpointModelWeights(path), null, path);
        }
        return ModelWeights.Load(model, path);
    }

    /// <summary>Whether <paramref name="path"/> is a checkpoint written by SpatialNet's trainer (a safetensors file with its metadata).</summary>
    public static bool IsTrainingCheckpoint(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path) || StateDictFile.DetectFormat(path) != WeightFileFormat.Safetensors)
            return false;
        using var reader = SafetensorsFile.Open(path);
        return reader.Metadata.ContainsKey(TrainingCheckpoint.MetadataKey);
    }

    /// <summary>
    /// The <see cref="MultiTaskModel"/>'s weights in a training checkpoint of a <see cref="MultiTaskTrainable"/>
    /// (its <c>model.model.*</c> entries, under the model's own state-dict names) at full precision: the
    /// float32 master weights of a mixed-precision run, every floating-point entry as float32 — the
    /// content of the run's <c>model.safetensors</c>. New CPU tensors in the current dispose scope.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a training checkpoint.</exception>
    public static Dictionary<string, Tensor> CheckpointModelWeights(string path) => ModelState(TrainingCheckpoint.ReadModelWeights(path));

    // The MultiTaskModel's entries of a MultiTaskTrainable's state ("model." inside the trainer's module),
    // floating-point entries as float32 (a mixed-precision run keeps buffers in bfloat16).
    private static Dictionary<string, Tensor> ModelState(IReadOnlyDictionary<string, Tensor> trainable)
    {
        const string prefix = "model.";
        return trainable.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(
            kv => kv.Key[prefix.Length..],
            kv => kv.Value.dtype == ScalarType.BFloat16 ? kv.Value.to(ScalarType.Float32) : kv.Value,
            StringComparer.Ordinal);
    }

    // A module's state with its trainable parameters replaced by the optimizer's master values.
    private static Dictionary<string, Tensor> MasterOverlay(IReadOnlyDictionary<string, Tensor> state, IReadOnlyDictionary<string, Tensor> masters)
    {
        var result = new Dictionary<string, Tensor>(state, StringComparer.Ordinal);
        foreach (var (name, master) in masters)
            result[name] = master;
        return result;
    }

    /// <summary>
    /// How <c>pretrained</c> loads: strictly, except the checkpoint's classifier (<c>head.*</c>) and
    /// a Hugging Face pooler (<c>pooler.*</c>), which the task heads replace, and the encoder key groups
    /// listed in <c>pretrained_allow_missing</c>.
    /// </summary>
    internal static WeightLoadOptions PretrainedLoadOptions(IEnumerable<string>? allowMissing) => new()
    {
        Strict = true,
        AllowUnexpected = ["head.", "pooler."],
        AllowMissing = [.. allowMissing ?? []],
    };


    /// <summary>
    /// A Hugging Face checkpoint's <c>config.json</c> (beside it) records settings its weights were trained with
    /// that no shape shows: <c>layer_norm_eps</c>, <c>qkv_bias</c>, <c>hidden_act</c>. Another value in the model options is refused.
    /// </summary>
    /// <exception cref="ConfigurationException">A setting differs (the message names the option, both values and the file).</exception>
    internal static void CheckPretrainedSettings(string pretrained, VisionTransformerOptions model)
    {
        var hfConfig = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(pretrained)) ?? ".", "config.json");
        if (!File.Exists(pretrained) || !File.Exists(hfConfig))
            return;
        IReadOnlyList<string> names;
        if (StateDictFile.DetectFormat(pretrained) == WeightFileFormat.Safetensors)
        {
            using var reader = SafetensorsFile.Open(pretrained);
            names = [.. reader.Names];
        }
        else
        {
            using var all = StateDictFile.Read(pretrained);
            names = [.. all.Keys];
        }
        if (!HuggingFaceVit.LooksLikeHuggingFace(names))
            return;
        var trained = HuggingFaceVit.ReadOptions(hfConfig);
        var problems = new List<string>();
        if (trained.NormEps != model.NormEps)
            problems.Add(FormattableString.Invariant($"model:norm_eps = {model.NormEps:R}, the checkpoint's layer_norm_eps = {trained.NormEps:R}"));
        if (trained.QkvBias != model.QkvBias)
            problems.Add($"model:qkv_bias = {(model.QkvBias ? "true" : "false")}, the checkpoint's qkv_bias = {(trained.QkvBias ? "true" : "false")}");
        if (trained.Activation != model.Activation)
            problems.Add($"model:activation = {model.Activation.ToString().ToLowerInvariant()}, the checkpoint's hidden_act = {trained.Activation.ToString().ToLowerInvariant()}");
        if (problems.Count > 0)
            throw new ConfigurationException(
                $"pretrained = '{pretrained}' was trained with other settings ({hfConfig}): {string.Join("; ", problems)}. Set the model options to the checkpoint's values.");
    }

    /// <summary>The device a configuration asks for.</summary>
    /// <exception cref="ConfigurationException">CUDA is asked for and not available.</exception>
    public static Device ResolveDevice(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device == "auto")
            return cuda.is_available() ? CUDA : CPU;
        if (device == "cpu")
            return CPU;
        if (!cuda.is_available())
            throw new ConfigurationException($"device = \"{device}\": CUDA is not available (is a CUDA runtime package, e.g. TorchSharp-cuda-linux, referenced?); use \"cpu\" or \"auto\".");
        return device == "cuda" ? CUDA : new Device(device);
    }

    private static string Fmt(double? v) => v is double d ? d.ToString("G5", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>Everything a run builds from its configuration.</summary>
    private sealed partial class RunSetup : IDisposable
    {
        // Transforms made for this run that hold native resources (augmentation generators and index maps).
        private readonly List<IDisposable> _owned = [];
        private readonly TrainingRunOptions _config;
        private ServiceProvider? _services;
        private readonly ILogger _logger;
        private readonly List<OpenedSource> _sources;
        private readonly List<TaskDefinition> _tasks;

        private RunSetup(TrainingRunOptions config, ILogger logger, List<OpenedSource> sources, List<TaskDefinition> tasks, Device device,
            PrecisionMode precision, MultiTaskTrainable trainable)
        {
            _config = config;
            _logger = logger;
            _sources = sources;
            _tasks = tasks;
            Device = device;
            Precision = precision;
            Trainable = trainable;
        }

        public Device Device { get; }

        public PrecisionMode Precision { get; }

        public MultiTaskTrainable Trainable { get; }

        public MultiTaskModel Model => Trainable.Model;

        /// <summary>The bound options of task <paramref name="task"/>.</summary>
        public TaskOptions Options(TaskDefinition task) => _config.Tasks.First(o => o.Name == task.Name);

        /// <summary>Frees what the run's transforms hold.</summary>
        public void Dispose()
        {
            foreach (var owned in _owned)
                owned.Dispose();
            _owned.Clear();
            _services?.Dispose();
            _services = null;
        }

        public static RunSetup Create(IConfiguration configuration, TrainingRunOptions config, ILogger logger, bool forTraining,
            RunComponents components, PrecisionMode? precisionOverride = null)
        {
            if (config.Threads is int threads)
                torch.set_num_threads(threads);
            var device = ResolveDevice(config.Device);
            var precision = MixedPrecision.Resolve(config.Trainer.Precision, device);
            if (precisionOverride is PrecisionMode chosen)
                precision = chosen;
            if (!forTraining)
                precision = PrecisionMode.Float32;

            var m = config.Model;
            if (m.ImageHeight != m.ImageWidth)
                throw new ConfigurationException($"model:image_height = {m.ImageHeight}, model:image_width = {m.ImageWidth}: datasets are read as square images; allowed equal sides (model:image_size).");
            var sources = config.Data.Sources.Select((s, i) => OpenedSource.Open(s, i, m.ImageSize, m.InChannels, config.Seed)).ToList();
            var tasks = new List<TaskDefinition>();
            for (int i = 0; i < config.Tasks.Count; i++)
                tasks.Add(Resolve(config.Tasks[i], i, sources));
            sources.RemoveAll(s => s.Targets.Count == 0);
            if (forTraining)
                EnsureTrainingFits(config, sources.Select(s => (long)s.Train.Count).DefaultIfEmpty(0).Max(), precision, device);
            Scan(config, sources, tasks);
            // A model named in the hub cache brings the normalisation it was trained with (timm pretrained_cfg, HF preprocessor_config).
            var byName = PretrainedByName.IsHubId(config.Pretrained) && !File.Exists(config.Pretrained) ? PretrainedByName.Resolve(config.Pretrained!) : null;
            if (byName is { Mean: { } pretrainedMean, Std: { } pretrainedStd } && pretrainedMean.Count == m.InChannels && pretrainedStd.Count == m.InChannels)
            {
                foreach (var s in sources)
                    s.Normalization = new NormalizationStatistics(pretrainedMean, pretrainedStd);
            }
            Log.DataReady(logger, string.Join("; ", sources.Select(s => $"{s.Train.Name}: {s.Train.Count} samples, tasks {string.Join(", ", s.Targets.Keys)}")));

            var provider = BuildModelServices(configuration, config.Tasks, tasks, m, config.Seed, components);
            try
            {
                torch.manual_seed(unchecked((long)config.Seed));
                MultiTaskModel model;
                try
                {
                    model = provider.GetRequiredService<MultiTaskModel>();
                }
                catch (OptionsValidationException e)
                {
                    throw new ConfigurationException(null, e.Failures.ToList());
                }
                if ((byName?.WeightsPath ?? config.Pretrained) is { } pretrained)
                {
                    if (config.PretrainedSha256 is { } sha256)
                        StateDictFile.VerifySha256(pretrained, sha256);
                    if (model.Encoder is VisionTransformer vit)
                        CheckPretrainedSettings(pretrained, vit.Options);
                    var loaded = ModelWeights.Load((torch.nn.Module)model.Encoder, pretrained, PretrainedLoadOptions(config.PretrainedAllowMissing));
                    Log.Pretrained(logger, pretrained, loaded.Loaded.Count, loaded.Missing.Count, loaded.Unexpected.Count);
                }
                for (int i = 0; i < tasks.Count; i++)
                    tasks[i] = tasks[i] with { Inputs = model.Head(tasks[i].Name).InputNames };
                var composer = provider.GetRequiredService<ILossComposer>();
                var trainable = new MultiTaskTrainable(model, composer, provider.GetRequiredService<L2Regularization>());
                trainable.Module.to(device);
                Log.ModelReady(logger, model.parameters().Sum(p => p.numel()), device.ToString(), precision, composer.Name);
                return new RunSetup(config, logger, sources, tasks, device, precision, trainable) { _services = provider };
            }
            catch
            {
                provider.Dispose();
                throw;
            }
        }

        public DatasetBatchSource TrainBatches()
        {
            var seed = SeededRandom.DeriveSeed(_config.Seed, 0x5348_5546); // "SHUF": the sampler's stream
            var preparations = _sources.Select(s => Preparation(s, augment: true)).ToArray();
            var augmentationSeed = SeededRandom.DeriveSeed(_config.Seed, 0x4155_4731); // "AUG1"
            if (_sources.Count == 1)
            {
                var loader = new DataLoader(_sources[0].Train, _config.Data.BatchSize, shuffle: true, seed: seed)
                {
                    SampleWeights = _config.Data.Sampler == "class_balanced" ? ClassBalancedSampleWeights(_sources[0], _tasks) : null,
                };
                return new DatasetBatchSource(loader, preparations[0], Device, augmentationSeed);
            }
            var multi = new MultiDatasetLoader(_sources.Select(s => s.Train).ToArray(), _sources.Select(s => s.Config.Proportion).ToArray(),
                _config.Data.BatchSize, seed);
            return new DatasetBatchSource(multi, preparations, Device, augmentationSeed);
        }

        /// <summary>
        /// The single training split decoded into one uint8 tensor and its task targets, cached on the
        /// device; batches are gathered, augmented and normalised there.
        /// </summary>
        public DeviceBatchCache DeviceCache()
        {
            var s = _sources.Single();
            if (_tasks.Any(t => t.Kind == TaskKind.VisualQuestionAnswering))
                throw new ConfigurationException("data.device_cache: not with vqa tasks (question token sequences are made per batch).");
            var loader = new DataLoader(s.Train, 256, shuffle: false);
            var batches = new DatasetBatchSource(loader, new DatasetBatchPreparation { Targets = s.Targets });
            var images = new List<Tensor>();
            var targets = s.Targets.Keys.ToDictionary(k => k, _ => new List<Tensor>(), StringComparer.Ordinal);
            using var scope = NewDisposeScope();
            foreach (var planned in batches.Plan(0))
            {
                var batch = batches.Load(planned);
                images.Add(batch[SampleKeys.Image]);
                foreach (var (task, list) in targets)
                    list.Add(batch[task]);
            }
            var all = cat(images, 0);
            if (all.dtype != ScalarType.Byte)
                throw new ConfigurationException($"data:device_cache: {s.Train.Name} has images read at more than 8 bits or with an input_range (float32); the device cache holds uint8 images. Turn device_cache off.");
            var perSample = targets.ToDictionary(kv => kv.Key, kv => cat(kv.Value, 0), StringComparer.Ordinal);
            return new DeviceBatchCache(all, perSample, new DeviceBatchCacheOptions
            {
                Device = Device,
                BatchSize = _config.Data.BatchSize,
                Shuffle = true,
                Seed = SeededRandom.DeriveSeed(_config.Seed, 0x5348_5546),
                Mean = _config.Data.Normalize ? s.Normalization?.Mean : null,
                Std = _config.Data.Normalize ? s.Normalization?.Std : null,
                Augmentation = _config.Data.Flip || _config.Data.Rotate90 ? SpatialNet.Training.Batching.AugmentationMode.FlipsAndRotations : SpatialNet.Training.Batching.AugmentationMode.None,
                OutputDType = Precision == PrecisionMode.BFloat16Mixed ? ScalarType.BFloat16 : ScalarType.Float32,
            });
        }

        public MultiTaskEvaluator? Evaluator(string split, bool blankImages = false)
        {
            var batches = new List<IBatchSource>();
            foreach (var s in _sources)
            {
                if (s.Split(split) is not { } dataset)
                    continue;
                var loader = new DataLoader(dataset, _config.Data.EvalBatchSize ?? _config.Data.BatchSize, shuffle: false);
                batches.Add(new DatasetBatchSource(loader, Preparation(s, augment: false, blankImages), Device));
            }
            if (batches.Count == 0)
                return null;
            // Caption tasks are scored by the caption evaluators (WithCaptions, AddCaptionTables).
            var tasks = _tasks.Where(t => t.Kind != TaskKind.Captioning).ToArray();
            return new MultiTaskEvaluator(Model, batches, tasks, split)
            {
                SystemName = blankImages ? "Ablation: the same model, every image replaced by the mean colour" : "SpatialNet",
            };
        }

        public TrainerOptions TrainerOptions(bool hasEvaluator)
        {
            // The bound trainer options, completed with what the run decides.
            var o = _config.Trainer;
            var (metric, mode) = Monitor(hasEvaluator);
            o.Precision = Precision;
            // Regression and multi-label targets, and VQA count targets (bf16 holds integers exactly only up to 256), stay float32.
            o.KeepFloat32Inputs = _tasks.Where(t => (t.Kind == TaskKind.Regression || t.Kind == TaskKind.MultiLabel)).Select(t => t.Name)
                .Append(SampleKeys.Count).ToHashSet(StringComparer.Ordinal);
            o.Seed = _config.Seed;
            o.MonitorMetric = metric;
            o.MonitorMode = mode;
            o.CheckpointDirectory = Path.Combine(_config.OutputDir, "checkpoints");
            o.OutputDirectory = _config.OutputDir;
            return o;
        }

        public EvaluationReport Report(MultiTaskEvaluationResult result, IEnumerable<KeyValuePair<string, string>> facts,
            Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null)
        {
            var report = new EvaluationReport(result, "SpatialNet evaluation");
            var m = _config.Model;
            report.With("model", $"ViT {m.ImageSize}×{m.ImageSize}, patch {m.PatchSize}, D {m.EmbedDim}, depth {m.Depth}, heads {m.NumHeads}; " +
                $"{Model.parameters().Sum(p => p.numel()).ToString("N0", CultureInfo.InvariantCulture)} parameters");
            report.With("tasks", string.Join(", ", _tasks.Select(t => $"{t.Name} ({Options(t).Kind})")));
            report.With("data", string.Join("; ", _sources.Select(s => s.Train.Name)));
            report.With("loss", $"{Trainable.Composer.Name}, λ_reg {_config.Loss.L2Lambda.ToString(CultureInfo.InvariantCulture)}");
            report.With("device", $"{Device} ({Precision})");
            report.With("seed", _config.Seed.ToString(CultureInfo.InvariantCulture));
            foreach (var (k, v) in facts)
                report.With(k, v);
            foreach (var t in _tasks.Where(t => t.Kind == TaskKind.VisualQuestionAnswering))
            {
                report.With($"{t.Name} head", t.Head is VqaHeadOptions vqa
                    ? $"VQA head: question encoder ({vqa.Depth} layers), {vqa.Fusion} fusion, answer classifier over {vqa.NumAnswers} answers"
                    : "question-agnostic baseline: answer classifier on the image only; p(answer | image) combined with the question type's training answer frequencies");
            }
            AddCaptionTables(report, result.Split);
            AddVqaRows(report, result.Split, prepare);
            return report;
        }

        // Table II beside the model: the question-only lookup (training split only, never an image) and,
        // on request, the same model with every image blanked to the mean colour.
        private void AddVqaRows(EvaluationReport report, string split, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare)
        {
            var vqa = _tasks.Where(t => t.Kind == TaskKind.VisualQuestionAnswering).ToArray();
            if (vqa.Length == 0)
                return;
            foreach (var t in vqa)
            {
                var source = _sources.First(s => s.Targets.ContainsKey(t.Name));
                if (source.Train is RsvqaDataset train && source.Split(split) is RsvqaDataset evaluated)
                {
                    var lookup = new QuestionOnlyLookupBaseline(train.Questions.Select(VqaExample.From));
                    report.VqaRows.Add(new VqaRow($"{lookup.Name} ({t.Name})",
                        VqaBaselines.Score(lookup, evaluated.Questions.Select(VqaExample.From))));
                }
            }
            if (_config.Data.BlankImageAblation && Evaluator(split, blankImages: true) is { } blind)
                blind.AddTo(report, prepare);
        }

        public JsonObject DataJson()
        {
            var sources = new JsonArray();
            foreach (var s in _sources)
            {
                var o = new JsonObject { ["name"] = s.Train.Name, ["kind"] = s.Kind.Name, ["train_samples"] = s.Train.Count };
                if (s.Normalization is { } n)
                    o["normalization"] = new JsonObject { ["mean"] = Array(n.Mean), ["std"] = Array(n.Std) };
                if (s.ImageOptions is { } image)
                {
                    // 1-based, as configured; null: every band, the sample type's range.
                    o["bands"] = image.SelectBands is { } bands ? new JsonArray(bands.Select(b => (JsonNode?)(b + 1)).ToArray()) : null;
                    o["input_range"] = image.InputRange is { } range
                        ? new JsonArray(range.Select(r => (JsonNode?)new JsonArray(r.Low, r.High)).ToArray())
                        : null;
                }
                if (s.ClassNames is { } names)
                    o["class_names"] = new JsonArray(names.Select(x => (JsonNode?)x).ToArray());
                s.Kind.AddTo(o, s.Contents);
                o["targets"] = new JsonObject(s.Targets.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)new JsonArray(kv.Value.Select(v => (JsonNode?)v).ToArray()))));
                sources.Add(o);
            }
            var tasks = new JsonArray();
            foreach (var t in _tasks)
            {
                // classes, outputs and the serving source (its normalisation, vocabularies) rebuild the head at inference.
                var o = new JsonObject
                {
                    ["name"] = t.Name,
                    ["kind"] = Options(t).Kind,
                    ["classes"] = Classes(t),
                    ["outputs"] = Outputs(t),
                    ["source"] = _sources.FindIndex(s => s.Targets.ContainsKey(t.Name)),
                };
                if (t.Labels is { } labels)
                    o["labels"] = new JsonArray(labels.Select(x => (JsonNode?)x).ToArray());
                if (t.Statistics?.Mean is { } mean)
                    o["target_mean"] = Array(mean);
                if (t.Statistics?.Std is { } std)
                    o["target_std"] = Array(std);
                if (Options(t).Head is ClassificationHeadOptions { ClassWeights: { } weights })
                    o["class_weights"] = Array(weights);
                if (t.Statistics?.ClassCounts is { } counts)
                    o["class_counts"] = new JsonArray(counts.Select(x => (JsonNode?)x).ToArray());
                tasks.Add(o);
            }
            return new JsonObject { ["sources"] = sources, ["tasks"] = tasks };
        }

        private static JsonArray Array(IEnumerable<double> values) => new(values.Select(v => (JsonNode?)(double.IsFinite(v) ? v : null)).ToArray());

        private (string? Metric, Engine.MetricMode Mode) Monitor(bool hasEvaluator)
        {
            var es = _config.Trainer;
            string? metric = es.MonitorMetric;
            if (metric is null)
            {
                // The sum of the tasks' validation losses: one number that every task moves (a single
                // task's accuracy saturates early on easy tasks and would freeze the best checkpoint).
                metric = hasEvaluator ? TaskMetricNames.Loss : "train_loss";
            }
            var mode = es.MonitorMode ?? MetricModes.Of(metric);
            return (metric, mode);
        }

        private DatasetBatchPreparation Preparation(OpenedSource source, bool augment, bool blankImages = false)
        {
            IBatchTransform first = _config.Data.Normalize && source.Normalization is { } n ? new Normalize(n) : new ToFloat();
            if (first is IDisposable owned)
                _owned.Add(owned);
            var transforms = new List<IBatchTransform> { first };
            if (augment && (_config.Data.Flip || _config.Data.Rotate90))
            {
                double p = _config.Data.Flip ? 0.5 : 0.0;
                // Per-pixel targets turn with their image.
                var denseTargets = _tasks.Where(t => DenseEvaluation.Handles(t) && source.Targets.ContainsKey(t.Name)).Select(t => t.Name);
                var flipRotate = new RandomFlipRotate(_config.Seed, p, p, _config.Data.Rotate90, keys: [SampleKeys.Image, .. denseTargets]);
                _owned.Add(flipRotate);
                transforms.Add(flipRotate);
            }
            if (augment && _config.Data.CropScale < 1)
                transforms.Add(new RandomResizedCrop(_config.Seed, _config.Data.CropScale));
            if (augment && (_config.Data.JitterBrightness > 0 || _config.Data.JitterContrast > 0))
                transforms.Add(new RandomBandJitter(_config.Seed, _config.Data.JitterBrightness, _config.Data.JitterContrast));
            if (augment && (_config.Data.MixupAlpha > 0 || _config.Data.CutmixAlpha > 0))
            {
                // Configuration allows mixing only when every task is classification.
                var classes = _tasks.Where(t => source.Targets.ContainsKey(t.Name))
                    .ToDictionary(t => t.Name, t => t.Head is ClassificationHeadOptions { NumClasses: > 0 } h ? h.NumClasses
                        : throw new ConfigurationException($"data:mixup_alpha / data:cutmix_alpha: task '{t.Name}' has no class count to mix its targets with."));
                transforms.Add(new MixupCutMix(_config.Seed, _config.Data.MixupAlpha, _config.Data.CutmixAlpha, _config.Data.MixProbability, classes));
            }
            if (blankImages)
                transforms.Add(new BlankImages());
            var d = _config.Data;
            var questions = source.Kind.QuestionBatching;
            return new DatasetBatchPreparation
            {
                Targets = source.Targets,
                Transform = new BatchTransformPipeline([.. transforms]),
                DeduplicateImages = d.DeduplicateImages && questions,
                Repeats = augment && questions ? d.Repeats : null,
                LengthBucketBatches = augment && questions ? d.LengthBuckets : 0,
                ImageDropProbability = augment ? d.ImageDrop : 0,
            };
        }

        private static TaskDefinition Resolve(TaskOptions task, int index, List<OpenedSource> sources)
        {
            var at = $"tasks:{index}";
            var kind = task.ParsedKind ?? throw new ConfigurationException($"{at}:kind = \"{task.Kind}\": allowed classification, regression, multi_label, vqa or caption.");
            IReadOnlyList<string>? keys = null;
            OpenedSource? first = null;
            foreach (var s in sources)
            {
                if (s.Config.TargetsOf(task) is not { } k)
                    continue;
                s.Targets[task.Name] = k;
                keys ??= k;
                first ??= s;
            }
            if (first is null || keys is null)
                throw new ConfigurationException($"{at} (\"{task.Name}\"): no data source serves this task; give it a \"target\" or map it in a source's \"targets\".");

            switch (kind)
            {
                case var kind_ when kind_ == TaskKind.Classification:
                {
                    var datasetNames = keys[0] == SampleKeys.Label ? first.ClassNames : null;
                    int? configured = task.Head is ClassificationHeadOptions { NumClasses: > 0 } h ? h.NumClasses : null;
                    int classes = configured ?? task.ClassNames?.Count ?? datasetNames?.Count
                        ?? throw new ConfigurationException($"{at}:head:num_classes: required, because '{keys[0]}' of {first.Train.Name} has no class list.");
                    var labels = task.ClassNames ?? (datasetNames?.Count == classes ? datasetNames : null);
                    if (labels is not null && labels.Count != classes)
                        throw new ConfigurationException($"{at}:class_names: {labels.Count} names for {classes} classes.");
                    FillHead(task, classes, 1, null, null);
                    CheckClassWeights(task, at, classes, labels, first.Train.Name);
                    return Describe(task, labels);
                }
                case var kind_ when kind_ == TaskKind.VisualQuestionAnswering:
                {
                    var answers = first.Answers
                        ?? throw new ConfigurationException($"{at}:kind = \"vqa\": the task's source ({first.Train.Name}) has no answer vocabulary; vqa tasks train on rsvqa sources.");
                    FillHead(task, answers.Count, 1, first.Questions, null);
                    return Describe(task, answers.Answers);
                }
                case var kind_ when kind_ == TaskKind.Captioning:
                {
                    var captions = first.CaptionEncoder
                        ?? throw new ConfigurationException($"{at}:kind = \"caption\": the task's source ({first.Train.Name}) has no captions; caption tasks train on ucm-caption sources.");
                    FillHead(task, captions.Vocabulary.Count, 1, captions, first.Targets[task.Name][0]);
                    return Describe(task, null);
                }
                case var kind_ when kind_ == SegmentationTaskKind.Kind:
                {
                    int classes = task.Head is SegmentationHeadOptions { NumClasses: > 0 } h ? h.NumClasses
                        : first.ClassNames?.Count ?? throw new ConfigurationException($"{at}:head:num_classes: required, because {first.Train.Name} has no class list.");
                    FillHead(task, classes, 1, null, null);
                    return Describe(task, task.ClassNames ?? (first.ClassNames?.Count == classes ? first.ClassNames : null));
                }
                default:
                    FillHead(task, 0, keys.Count, null, null);
                    return Describe(task, task.ClassNames ?? keys);
            }
        }

        /// <summary>
        /// One pass over each source's training split: per-band image statistics (normalisation; each distinct image once)
        /// and the tasks' target statistics (baselines, regression target normalisation).
        /// </summary>
        /// <summary>
        /// Refuses, before the data is scanned or the model built, a training batch whose encoder
        /// activations and parameter state (<c>VisionTransformer.TrainingBytes</c>) exceed the free host memory.
        /// On CUDA it is not checked: TorchSharp does not report the device's free memory.
        /// </summary>
        private static void EnsureTrainingFits(TrainingRunOptions config, long trainSamples, PrecisionMode precision, Device device)
        {
            if (device.type != DeviceType.CPU)
                return;
            var m = config.Model;
            long batch = Math.Max(1, Math.Min(config.Data.BatchSize, trainSamples));   // a batch holds at most the training split
            int valueBytes = precision == PrecisionMode.BFloat16Mixed ? 2 : 4;
            var (activations, parameters) = VisionTransformer.TrainingBytes(m, batch, valueBytes);
            long free = MemoryBudget.FreeBytes;
            if (activations + parameters <= free)
                return;
            double perImage = activations / batch;
            double fitting = Math.Floor((free - parameters) / perImage);
            var advice = fitting >= 1
                ? $"at most data:batch_size = {fitting.ToString("F0", CultureInfo.InvariantCulture)} fits with this model"
                : "not even data:batch_size = 1 fits: choose a smaller model:image_size, model:embed_dim or model:depth";
            throw new ResourceLimitException("data:batch_size",
                $"data:batch_size = {config.Data.BatchSize}, model:image_size = {m.ImageSize}, model:embed_dim = {m.EmbedDim}, model:depth = {m.Depth}: " +
                $"training would need about {MemoryBudget.Format(activations + parameters)} (activations {MemoryBudget.Format(activations)}: " +
                $"batch {batch} × tokens × embed_dim × depth × {VisionTransformer.ActivationValuesPerBlock} values × {valueBytes} bytes; " +
                $"parameters with gradients and AdamW moments {MemoryBudget.Format(parameters)}), more than the {MemoryBudget.Format(free)} of free memory; {advice}.");
        }

        // A class label beyond tasks:N:head:num_classes: named with the task, the source's split file and the option.
        private static void CheckClassLabels(OpenedSource source, List<TaskDefinition> tasks, string task, Tensor labels)
        {
            int i = tasks.FindIndex(t => t.Name == task);
            if (tasks[i].Kind != TaskKind.Classification || labels.numel() == 0)
                return;
            long max = labels.max().to(ScalarType.Int64).item<long>();
            int classes = Classes(tasks[i]);
            if (max < classes)
                return;
            var file = source.Config.Path is { } path ? $"{path}, " : string.Empty;
            throw new ConfigurationException(
                $"tasks:{i}:head:num_classes = {classes} (task \"{task}\"): the training split of data:sources:{source.Index} ({file}split \"{source.Config.TrainSplit}\", {source.Train.Name}) " +
                $"has label {max}; allowed num_classes > {max}, or 0 to take the data set's class list.");
        }

        private static void Scan(TrainingRunOptions config, List<OpenedSource> sources, List<TaskDefinition> tasks)
        {
            // Caption targets are token sequences: no target statistics (their baselines are the retrieval captions).
            var dense = tasks.Where(DenseEvaluation.Handles).ToDictionary(t => t.Name, t => new DenseTargetSummary(Classes(t)), StringComparer.Ordinal);
            var builders = tasks.Where(t => t.Kind != TaskKind.Captioning && !dense.ContainsKey(t.Name))
                .ToDictionary(t => t.Name, t => TargetStatistics.CreateBuilder(t.Kind, Classes(t)), StringComparer.Ordinal);
            var vqa = tasks.Where(t => t.Kind == TaskKind.VisualQuestionAnswering).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var s in sources)
            {
                var loader = new DataLoader(s.Train, 256, shuffle: false);
                var batches = new DatasetBatchSource(loader, new DatasetBatchPreparation { Targets = s.Targets });
                int channels = config.Model.InChannels;
                var sum = new double[channels];
                var sumSq = new double[channels];
                long pixels = 0;
                // Samples that share an image (RSVQA: ~100 questions per image) count it once.
                var seenImages = new HashSet<long>();
                var labels = tasks.Where(t => t.Kind == TaskKind.Classification && s.Targets.ContainsKey(t.Name))
                    .ToDictionary(t => t.Name, _ => new List<long>(), StringComparer.Ordinal);
                foreach (var planned in batches.Plan(0))
                {
                    using var scope = NewDisposeScope();
                    using var batch = batches.Load(planned);
                    var image = batch[SampleKeys.Image];
                    if (image.dim() != 4 || image.shape[1] != channels)
                        throw new ConfigurationException($"model:in_channels = {channels}: images of {s.Train.Name} are [{string.Join(", ", image.shape.Skip(1))}] (C, H, W).");
                    if (batch.TryGetValue(SampleKeys.ImageId, out var ids))
                    {
                        var idList = ids.to(ScalarType.Int64).cpu().data<long>().ToArray();
                        var firsts = Enumerable.Range(0, idList.Length).Where(i => seenImages.Add(idList[i])).Select(i => (long)i).ToArray();
                        image = image.index_select(0, tensor(firsts));
                    }
                    // In [0, 1]: uint8 images are v/255; images read at their own precision are float32 through the input range already.
                    var x = image.is_floating_point() ? image.to(ScalarType.Float64) : image.to(ScalarType.Float64).div(255.0);
                    var sums = x.sum([0, 2, 3]).data<double>().ToArray();
                    var squares = x.square().sum([0, 2, 3]).data<double>().ToArray();
                    for (int c = 0; c < channels; c++)
                    {
                        sum[c] += sums[c];
                        sumSq[c] += squares[c];
                    }
                    pixels += image.shape[0] * image.shape[2] * image.shape[3];
                    foreach (var task in s.Targets.Keys)
                    {
                        if (builders.TryGetValue(task, out var builder))
                        {
                            CheckClassLabels(s, tasks, task, batch[task]);
                            builder.Add(batch[task], vqa.Contains(task) ? batch[SampleKeys.QuestionType] : null);
                        }
                        else if (dense.TryGetValue(task, out var summary))
                            summary.Add(batch[task]);
                        if (labels.TryGetValue(task, out var list))
                            list.AddRange(batch[task].to(ScalarType.Int64).cpu().data<long>().ToArray());
                    }
                }
                var mean = sum.Select(v => v / pixels).ToArray();
                var std = sumSq.Select((v, c) => Math.Sqrt(Math.Max(0, v / pixels - mean[c] * mean[c]))).Select(v => Math.Max(v, 1.0 / 255)).ToArray();
                s.Normalization = new NormalizationStatistics(mean, std, pixels);
                foreach (var (task, list) in labels)
                    s.TrainLabels[task] = [.. list];
            }
            for (int i = 0; i < tasks.Count; i++)
            {
                var statistics = builders.TryGetValue(tasks[i].Name, out var builder) ? builder.Build()
                    : dense.TryGetValue(tasks[i].Name, out var summary) ? summary.Build() : null;
                tasks[i] = tasks[i] with { Statistics = statistics };
                NormalizeTargets(config.Tasks[i], statistics?.Mean, statistics?.Std);
                BalanceClassWeights(config.Tasks[i], $"tasks:{i}", statistics, tasks[i].Labels);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Data: {Sources}")]
        public static partial void DataReady(ILogger logger, string sources);

        [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Model: {Parameters} parameters on {Device} ({Precision}), loss composer {Composer}")]
        public static partial void ModelReady(ILogger logger, long parameters, string device, PrecisionMode precision, string composer);

        [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Encoder weights from {Path}: {Loaded} loaded, {Missing} missing, {Unexpected} unexpected")]
        public static partial void Pretrained(ILogger logger, string path, int loaded, int missing, int unexpected);

        [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Run written to {Folder} in {Seconds:F1} s")]
        public static partial void Finished(ILogger logger, string folder, double seconds);

        [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "{Problem}")]
        public static partial void NoTestSplit(ILogger logger, string problem);
    }
}
