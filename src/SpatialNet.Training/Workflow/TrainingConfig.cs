using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SpatialNet.Training.Workflow;

/// <summary>A configuration file is malformed or a value is out of range; every problem names its field (e.g. <c>tasks[1].classes</c>).</summary>
public sealed class TrainingConfigException : SpatialNetException
{
    /// <summary>Creates the exception from one message per problem.</summary>
    public TrainingConfigException(string? source, IReadOnlyList<string> problems)
        : base((source is null ? "Invalid training configuration" : $"Invalid training configuration '{source}'") + ":" +
               string.Concat(problems.Select(p => Environment.NewLine + "  " + p)))
    {
        Problems = problems;
    }

    /// <summary>Creates the exception.</summary>
    public TrainingConfigException(string message) : base(message) => Problems = [message];

    /// <summary>Creates the exception.</summary>
    public TrainingConfigException() : this("Invalid training configuration.") { }

    /// <summary>Creates the exception.</summary>
    public TrainingConfigException(string message, Exception inner) : base(message, inner) => Problems = [message];

    /// <summary>Each problem: the field path, its value and what is allowed.</summary>
    public IReadOnlyList<string> Problems { get; }
}

/// <summary>
/// Everything a training run needs, as one JSON file (snake_case keys): the model, its tasks, how
/// their losses are combined, the optimizer and schedule, epochs and batch size, where the data
/// comes from, seed, output folder, device and precision. <see cref="TrainingPipeline"/> runs it;
/// <c>spatialnet train --config cfg.json</c> is the command-line form. docs/training.md lists every field.
/// </summary>
public sealed class TrainingConfig
{
    /// <summary>The JSON settings used to read and write configurations.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new TargetListConverter() },
    };

    /// <summary>Seed of everything random: initialisation, shuffling, augmentation, synthetic scenes (unless they set their own).</summary>
    public ulong Seed { get; set; } = 1;

    /// <summary>Folder for checkpoints, history, curves, reports and the final weights.</summary>
    public string OutputDir { get; set; } = "runs/spatialnet";

    /// <summary><c>cpu</c> (default), <c>cuda</c>, <c>cuda:N</c>, or <c>auto</c> (CUDA when available).</summary>
    public string Device { get; set; } = "cpu";

    /// <summary><c>auto</c> (default: bf16 mixed on CUDA, float32 on CPU), <c>float32</c> or <c>bf16-mixed</c>.</summary>
    public string Precision { get; set; } = "auto";

    /// <summary>torch CPU threads; null leaves torch's default.</summary>
    public int? Threads { get; set; }

    /// <summary>The Vision Transformer.</summary>
    public ModelConfig Model { get; set; } = new();

    /// <summary>The tasks (at least one).</summary>
    public List<TaskConfig> Tasks { get; set; } = [];

    /// <summary>How task losses are combined.</summary>
    public LossConfig Loss { get; set; } = new();

    /// <summary>AdamW settings.</summary>
    public OptimizerConfig Optimizer { get; set; } = new();

    /// <summary>Warm-up and cosine decay.</summary>
    public ScheduleConfig Schedule { get; set; } = new();

    /// <summary>Epochs (paper: 50).</summary>
    public int Epochs { get; set; } = 50;

    /// <summary>Training batch size (paper: 32).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Evaluation batch size; null uses <see cref="BatchSize"/>.</summary>
    public int? EvalBatchSize { get; set; }

    /// <summary>Where the data comes from.</summary>
    public DataConfig Data { get; set; } = new();

    /// <summary>Early stopping and best-checkpoint selection.</summary>
    public EarlyStoppingConfig EarlyStopping { get; set; } = new();

    /// <summary>Save <c>last.safetensors</c> every this many steps as well as at epoch ends (0: epoch ends only).</summary>
    public int CheckpointEverySteps { get; set; }

    /// <summary>Show the console progress line.</summary>
    public bool ShowProgress { get; set; } = true;

    /// <summary>Draw loss and metric curves as PNG.</summary>
    public bool WriteCharts { get; set; } = true;

    /// <summary>Reads and validates a configuration file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="TrainingConfigException">Malformed JSON, an unknown field, or invalid values (each named).</exception>
    public static TrainingConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Training configuration '{path}' not found.", path);
        var config = Parse(File.ReadAllText(path), path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        config.ResolvePaths(folder);
        return config;
    }

    /// <summary>Parses and validates a configuration from JSON text (relative paths stay as written).</summary>
    /// <exception cref="TrainingConfigException">Malformed JSON, an unknown field, or invalid values (each named).</exception>
    public static TrainingConfig Parse(string json, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        TrainingConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<TrainingConfig>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            var at = e.LineNumber is { } line ? $" (line {line + 1})" : string.Empty;
            var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "$" : e.Path.TrimStart('$', '.');
            throw new TrainingConfigException(source, [$"{field}{at}: {e.Message}"]);
        }
        if (config is null)
            throw new TrainingConfigException(source, ["$: the file holds JSON null."]);
        config.Validate(source);
        return config;
    }

    /// <summary>The configuration as JSON (the file format).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Every problem with the values, each naming its field, its value and what is allowed; empty when valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var p = new List<string>();
        void Check(bool ok, string field, object? value, string allowed)
        {
            if (!ok)
                p.Add(string.Create(CultureInfo.InvariantCulture, $"{field} = {Show(value)}: allowed {allowed}."));
        }

        Check(!string.IsNullOrWhiteSpace(OutputDir), "output_dir", OutputDir, "a folder path");
        Check(Device is "cpu" or "cuda" or "auto" || (Device?.StartsWith("cuda:", StringComparison.Ordinal) == true && int.TryParse(Device[5..], out var n) && n >= 0),
            "device", Device, "cpu, cuda, cuda:N or auto");
        Check(Precision is "auto" or "float32" or "bf16-mixed", "precision", Precision, "auto, float32 or bf16-mixed");
        Check(Threads is null or > 0, "threads", Threads, "a positive integer or null");
        Check(Epochs >= 1, "epochs", Epochs, "an integer >= 1");
        Check(BatchSize >= 1, "batch_size", BatchSize, "an integer >= 1");
        Check(EvalBatchSize is null or >= 1, "eval_batch_size", EvalBatchSize, "an integer >= 1 or null");
        Check(CheckpointEverySteps >= 0, "checkpoint_every_steps", CheckpointEverySteps, "an integer >= 0");
        if (Model is null) p.Add("model: required object is missing.");
        else Model.Collect(p, Check);
        if (Tasks is null || Tasks.Count == 0) p.Add("tasks: at least one task is needed.");
        else
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < Tasks.Count; i++)
            {
                if (Tasks[i] is null) { p.Add($"tasks[{i}]: null."); continue; }
                Tasks[i].Collect($"tasks[{i}]", p, Check, Model);
                if (Tasks[i].Name is { } name && !names.Add(name))
                    p.Add($"tasks[{i}].name = \"{name}\": allowed a name not used by another task.");
            }
        }
        if (Loss is null) p.Add("loss: required object is missing.");
        else Loss.Collect(p, Check);
        if (Optimizer is null) p.Add("optimizer: required object is missing.");
        else Optimizer.Collect(p, Check);
        if (Schedule is null) p.Add("schedule: required object is missing.");
        else Schedule.Collect(p, Check);
        if (EarlyStopping is null) p.Add("early_stopping: required object is missing.");
        else EarlyStopping.Collect(p, Check);
        if (Data is null) p.Add("data: required object is missing.");
        else Data.Collect(p, Check, Tasks ?? []);
        return p;
    }

    /// <summary>Throws <see cref="TrainingConfigException"/> listing every problem.</summary>
    public void Validate(string? source = null)
    {
        var problems = Problems();
        if (problems.Count > 0)
            throw new TrainingConfigException(source, problems);
    }

    /// <summary>Makes relative paths (output folder, data paths, pretrained weights) relative to <paramref name="folder"/>.</summary>
    public void ResolvePaths(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        OutputDir = Path.GetFullPath(Path.Combine(folder, OutputDir));
        if (Model.Pretrained is { } w)
            Model.Pretrained = Path.GetFullPath(Path.Combine(folder, w));
        foreach (var s in Data.Sources)
        {
            if (s.Path is { } sp)
                s.Path = Path.GetFullPath(Path.Combine(folder, sp));
        }
    }

    internal static string Show(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s + "\"",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };
}

/// <summary>Records a problem when a condition fails: (ok, field path, value, what is allowed).</summary>
internal delegate void ConfigCheck(bool ok, string field, object? value, string allowed);

/// <summary>The Vision Transformer (defaults: the paper's 12 layers, D = 512, 8 heads, patch 16, 256×256).</summary>
public sealed class ModelConfig
{
    /// <summary>Input side in pixels (images are resized to it when loaded); a multiple of <see cref="PatchSize"/>.</summary>
    public int ImageSize { get; set; } = 256;

    /// <summary>Patch side.</summary>
    public int PatchSize { get; set; } = 16;

    /// <summary>Input bands.</summary>
    public int InChannels { get; set; } = 3;

    /// <summary>Token width D.</summary>
    public int EmbedDim { get; set; } = 512;

    /// <summary>Encoder blocks.</summary>
    public int Depth { get; set; } = 12;

    /// <summary>Attention heads (divides D).</summary>
    public int NumHeads { get; set; } = 8;

    /// <summary>MLP width as a multiple of D.</summary>
    public double MlpRatio { get; set; } = 4.0;

    /// <summary><c>gelu</c> (timm) or <c>relu</c> (paper Eq. 5).</summary>
    public string Activation { get; set; } = "gelu";

    /// <summary>Prepend a class token.</summary>
    public bool ClassToken { get; set; } = true;

    /// <summary>Dropout rate.</summary>
    public double DropRate { get; set; }

    /// <summary>Stochastic depth rate of the last block.</summary>
    public double DropPathRate { get; set; }

    /// <summary>
    /// Encoder weights to start from (timm or Hugging Face safetensors / PyTorch file), loaded into the
    /// encoder strictly (every encoder key and shape must match; a pretrained classifier is ignored); null for random initialisation.
    /// </summary>
    public string? Pretrained { get; set; }

    /// <summary>Encoder key prefixes <see cref="Pretrained"/> may lack (e.g. <c>pos_embed</c>); they keep their random initialisation.</summary>
    public IList<string> PretrainedAllowMissing { get; set; } = [];

    internal void Collect(List<string> p, ConfigCheck check)
    {
        check(PatchSize > 0, "model.patch_size", PatchSize, "a positive integer");
        check(ImageSize > 0 && PatchSize > 0 && ImageSize % PatchSize == 0, "model.image_size", ImageSize, $"a positive multiple of model.patch_size ({PatchSize})");
        check(InChannels > 0, "model.in_channels", InChannels, "a positive integer");
        check(EmbedDim > 0, "model.embed_dim", EmbedDim, "a positive integer");
        check(Depth >= 0, "model.depth", Depth, "an integer >= 0");
        check(NumHeads > 0 && EmbedDim % NumHeads == 0, "model.num_heads", NumHeads, $"a positive divisor of model.embed_dim ({EmbedDim})");
        check(MlpRatio > 0, "model.mlp_ratio", MlpRatio, "a number > 0");
        check(Activation is "gelu" or "relu", "model.activation", Activation, "gelu or relu");
        check(DropRate is >= 0 and < 1, "model.drop_rate", DropRate, "a number in [0, 1)");
        check(DropPathRate is >= 0 and < 1, "model.drop_path_rate", DropPathRate, "a number in [0, 1)");
    }
}

/// <summary>One task: a head on the shared encoder.</summary>
public sealed class TaskConfig
{
    /// <summary>Task name (letters, digits, '_', '-'): the head's name, the key of its targets and the prefix of its metrics.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// <c>classification</c>, <c>regression</c>, <c>multi_label</c>, <c>vqa</c> (answers to RSVQA
    /// questions over the training split's answer vocabulary, scored per question type) or <c>caption</c>
    /// (a caption decoder on UCM-caption, scored with BLEU/METEOR/ROUGE-L/CIDEr beside the retrieval baseline).
    /// </summary>
    public string Kind { get; set; } = "classification";

    /// <summary>vqa: a classifier that sees only the image (a baseline) instead of the VQA head that reads the question.</summary>
    public bool QuestionAgnostic { get; set; }

    /// <summary>vqa: how question and image are combined, <c>cross_attention</c> or <c>elementwise_product</c> (the RSVQA baseline's).</summary>
    public string Fusion { get; set; } = "cross_attention";

    /// <summary>vqa: layers of the question encoder.</summary>
    public int TextDepth { get; set; } = 1;

    /// <summary>vqa: cross-attention fusion layers.</summary>
    public int FusionDepth { get; set; } = 1;

    /// <summary>vqa: hidden width of the answer classifier's MLP; null for the head's default.</summary>
    public int? ClassifierHidden { get; set; }

    /// <summary>vqa: dropout in the question encoder.</summary>
    public double TextDropout { get; set; }

    /// <summary>
    /// vqa: weight of the count branch, which regresses log(1 + count) on count questions (MSE) beside
    /// the answer classifier; 0 (default) leaves it out. Answers still come from the classifier.
    /// </summary>
    public double CountLossWeight { get; set; }

    /// <summary>caption: the decoder, decoding and retrieval-baseline settings; null for the defaults.</summary>
    public CaptionTaskConfig? Caption { get; set; }

    /// <summary>
    /// Sample entries holding the targets, used by every source without its own <c>targets</c> entry for this
    /// task: a name (<c>"label"</c>) or a list stacked into [B, K] (multi-label presence, K regression outputs).
    /// </summary>
    public List<string>? Target { get; set; }

    /// <summary>Classes (classification); null takes the dataset's class list (UCM, image folder, synthetic land cover).</summary>
    public int? Classes { get; set; }

    /// <summary>Class or label names for reports; null takes the dataset's.</summary>
    public List<string>? ClassNames { get; set; }

    /// <summary>λ_t of Eq. (6).</summary>
    public double LossWeight { get; set; } = 1.0;

    /// <summary>Label smoothing (classification, vqa).</summary>
    public double LabelSmoothing { get; set; }

    /// <summary>Dropout before the head's linear layer.</summary>
    public double Dropout { get; set; }

    /// <summary>Token pooling: null (class token when there is one), <c>class_token</c>, <c>mean</c> or <c>attention</c>.</summary>
    public string? Pooling { get; set; }

    /// <summary>Regression: normalise targets with the training split's mean and standard deviation (Eq. 8 on t' = (t − μ)/σ).</summary>
    public bool NormalizeTargets { get; set; } = true;

    /// <summary>Metric names (see docs/training.md); null for the kind's defaults. The first is the task's primary metric.</summary>
    public List<string>? Metrics { get; set; }

    internal void Collect(string at, List<string> p, ConfigCheck check, ModelConfig? model = null)
    {
        check(Heads.TaskDefinition.NameError(Name) is null && Name != "image", $"{at}.name", Name, Heads.TaskDefinition.AllowedNameDescription + ", not \"image\"");
        check(Kind is "classification" or "regression" or "multi_label" or "vqa" or "caption", $"{at}.kind", Kind, "classification, regression, multi_label, vqa or caption");
        if (Caption is not null && Kind != "caption")
            p.Add($"{at}.caption: allowed only for caption tasks (this task is {Kind}).");
        else if (Caption is not null && model is not null)
            Caption.Collect($"{at}.caption", model.EmbedDim, model.NumHeads, check);
        check(Classes is null or >= 2, $"{at}.classes", Classes, "an integer >= 2, or null for the dataset's class list");
        check(LossWeight >= 0 && double.IsFinite(LossWeight), $"{at}.loss_weight", LossWeight, "a finite number >= 0");
        check(LabelSmoothing is >= 0 and < 1, $"{at}.label_smoothing", LabelSmoothing, "a number in [0, 1)");
        check(Dropout is >= 0 and < 1, $"{at}.dropout", Dropout, "a number in [0, 1)");
        check(Pooling is null or "class_token" or "mean" or "attention", $"{at}.pooling", Pooling, "null, class_token, mean or attention");
        check(Fusion is "cross_attention" or "elementwise_product", $"{at}.fusion", Fusion, "cross_attention or elementwise_product");
        check(TextDepth >= 0, $"{at}.text_depth", TextDepth, "an integer >= 0");
        check(FusionDepth >= 1, $"{at}.fusion_depth", FusionDepth, "an integer >= 1");
        check(ClassifierHidden is null or >= 1, $"{at}.classifier_hidden", ClassifierHidden, "an integer >= 1, or null");
        check(TextDropout is >= 0 and < 1, $"{at}.text_dropout", TextDropout, "a number in [0, 1)");
        check(CountLossWeight >= 0 && double.IsFinite(CountLossWeight), $"{at}.count_loss_weight", CountLossWeight, "a finite number >= 0 (0: no count branch)");
        check(Target is null || (Target.Count > 0 && Target.All(t => !string.IsNullOrWhiteSpace(t))), $"{at}.target", Target is null ? null : "[" + string.Join(", ", Target) + "]", "a sample entry name or a non-empty list of them");
        if (Kind is "classification" or "vqa" or "caption" && Target is { Count: > 1 })
            p.Add($"{at}.target = [{string.Join(", ", Target)}]: allowed one entry for a {Kind} task (class indices).");
        if (Metrics is not null)
        {
            var kind = TrainingPipeline.ParseKind(Kind);
            if (kind is { } k)
            {
                var supported = Evaluation.TaskMetricNames.Supported(k);
                foreach (var m in Metrics)
                    check(supported.Contains(m), $"{at}.metrics", m, string.Join(", ", supported));
            }
        }
    }
}

/// <summary>How task losses are combined (Eq. 6 and alternatives) and the L2 term (Eq. 10–11).</summary>
public sealed class LossConfig
{
    /// <summary><c>weighted_sum</c> (paper), <c>uncertainty</c> (Kendall et al.), <c>dwa</c> (Liu et al.), <c>pcgrad</c> (Yu et al.) or <c>gradnorm</c> (Chen et al.).</summary>
    public string Composer { get; set; } = "weighted_sum";

    /// <summary>λ_reg of the L2 term λ_reg·½Σθ² (paper 0.01; 0 turns it off).</summary>
    public double L2 { get; set; } = 0.01;

    /// <summary>Temperature of Dynamic Weight Average.</summary>
    public double DwaTemperature { get; set; } = 2.0;

    /// <summary>GradNorm's asymmetry α (Chen et al. 2018; paper 1.5).</summary>
    public double GradNormAlpha { get; set; } = 1.5;

    internal void Collect(List<string> p, ConfigCheck check)
    {
        check(Composer is "weighted_sum" or "uncertainty" or "dwa" or "pcgrad" or "gradnorm", "loss.composer", Composer, "weighted_sum, uncertainty, dwa, pcgrad or gradnorm");
        check(L2 >= 0 && double.IsFinite(L2), "loss.l2", L2, "a finite number >= 0");
        check(DwaTemperature > 0 && double.IsFinite(DwaTemperature), "loss.dwa_temperature", DwaTemperature, "a finite number > 0");
        check(GradNormAlpha >= 0 && double.IsFinite(GradNormAlpha), "loss.gradnorm_alpha", GradNormAlpha, "a finite number >= 0");
    }
}

/// <summary>AdamW (decoupled weight decay; biases and norms are not decayed) and gradient clipping.</summary>
public sealed class OptimizerConfig
{
    /// <summary>Base learning rate (paper: 1e-4).</summary>
    public double LearningRate { get; set; } = 1e-4;

    /// <summary>Decoupled weight decay; default 0 (loss.l2 regularises; the trainer refuses both at once).</summary>
    public double WeightDecay { get; set; }

    /// <summary>β₁.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>β₂.</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>ε.</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>Maximum global gradient norm; null disables clipping.</summary>
    public double? GradientClipNorm { get; set; } = 1.0;

    internal void Collect(List<string> p, ConfigCheck check)
    {
        check(LearningRate > 0 && double.IsFinite(LearningRate), "optimizer.learning_rate", LearningRate, "a finite number > 0");
        check(WeightDecay >= 0 && double.IsFinite(WeightDecay), "optimizer.weight_decay", WeightDecay, "a finite number >= 0");
        check(Beta1 is >= 0 and < 1, "optimizer.beta1", Beta1, "a number in [0, 1)");
        check(Beta2 is >= 0 and < 1, "optimizer.beta2", Beta2, "a number in [0, 1)");
        check(Eps > 0, "optimizer.eps", Eps, "a number > 0");
        check(GradientClipNorm is null || (GradientClipNorm > 0 && double.IsFinite(GradientClipNorm.Value)), "optimizer.gradient_clip_norm", GradientClipNorm, "a finite number > 0, or null");
    }
}

/// <summary>Linear warm-up, then cosine decay to <see cref="MinLrRatio"/> × the base rate.</summary>
public sealed class ScheduleConfig
{
    /// <summary>Warm-up steps; null uses <see cref="WarmupFraction"/>.</summary>
    public long? WarmupSteps { get; set; }

    /// <summary>Warm-up as a fraction of all steps (when <see cref="WarmupSteps"/> is null).</summary>
    public double WarmupFraction { get; set; }

    /// <summary>Final learning rate as a fraction of the base rate.</summary>
    public double MinLrRatio { get; set; }

    internal void Collect(List<string> p, ConfigCheck check)
    {
        check(WarmupSteps is null or >= 0, "schedule.warmup_steps", WarmupSteps, "an integer >= 0, or null");
        check(WarmupFraction is >= 0 and <= 1, "schedule.warmup_fraction", WarmupFraction, "a number in [0, 1]");
        check(MinLrRatio is >= 0 and <= 1, "schedule.min_lr_ratio", MinLrRatio, "a number in [0, 1]");
    }
}

/// <summary>Early stopping on a named metric, which also selects <c>best.safetensors</c>.</summary>
public sealed class EarlyStoppingConfig
{
    /// <summary>Metric to monitor (<c>land_use/accuracy</c>, <c>loss</c>, <c>train_loss</c>); null: <c>loss</c>, the sum of the tasks' mean losses on the evaluation split (<c>train_loss</c> without one).</summary>
    public string? Metric { get; set; }

    /// <summary><c>max</c> or <c>min</c>; null: min for losses and errors (mae, rmse), max otherwise.</summary>
    public string? Mode { get; set; }

    /// <summary>Epochs without improvement before stopping; 0 never stops early (the best checkpoint is still kept).</summary>
    public int Patience { get; set; } = 5;

    /// <summary>Smallest change that counts as improvement.</summary>
    public double MinDelta { get; set; }

    internal void Collect(List<string> p, ConfigCheck check)
    {
        check(Metric is null || !string.IsNullOrWhiteSpace(Metric), "early_stopping.metric", Metric, "a metric name such as \"land_use/accuracy\", or null");
        check(Mode is null or "max" or "min", "early_stopping.mode", Mode, "max, min or null");
        check(Patience >= 0, "early_stopping.patience", Patience, "an integer >= 0");
        check(MinDelta >= 0 && double.IsFinite(MinDelta), "early_stopping.min_delta", MinDelta, "a finite number >= 0");
    }
}

/// <summary>The data: one or more sources (several are interleaved batch by batch) and their preparation.</summary>
public sealed class DataConfig
{
    /// <summary>The sources (at least one).</summary>
    public List<DataSourceConfig> Sources { get; set; } = [];

    /// <summary>Split evaluated after each epoch and for early stopping.</summary>
    public string EvalSplit { get; set; } = "val";

    /// <summary>A further split evaluated once at the end (e.g. "test"); null for none.</summary>
    public string? TestSplit { get; set; }

    /// <summary>Normalise images with each source's own training-split statistics.</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>Random flips during training (skipped for RSVQA questions about left/right/top/bottom).</summary>
    public bool Flip { get; set; } = true;

    /// <summary>Random 90° rotations during training (same rule).</summary>
    public bool Rotate90 { get; set; } = true;

    /// <summary>
    /// Training batches made ahead on a background thread (<see cref="Pipeline.Prefetcher"/>), this many
    /// batches deep; 0 (default) makes each batch when the step asks for it.
    /// </summary>
    public int Prefetch { get; set; }

    /// <summary>
    /// Keep the training split decoded as uint8 on the training device and make every batch there
    /// (<see cref="Pipeline.DeviceBatchCache"/>: gather, flips and rotations of the dihedral group,
    /// normalisation). One source only, not RSVQA (its position questions forbid some transforms).
    /// </summary>
    public bool DeviceCache { get; set; }

    /// <summary>Encode each distinct image of a batch once (RSVQA: about 100 questions per image); needs samples with an image id.</summary>
    public bool DeduplicateImages { get; set; }

    /// <summary>Question type → how many times each training question of that type enters an epoch (e.g. <c>{"rural_urban": 10}</c>); null: once.</summary>
    public Dictionary<string, int>? Repeats { get; set; }

    /// <summary>Training batches of questions of similar length, sorted within runs of this many batches; 0 (default): off.</summary>
    public int LengthBuckets { get; set; }

    /// <summary>Modality dropout: probability that a training image is replaced by the mean colour; 0 (default): off.</summary>
    public double ImageDrop { get; set; }

    /// <summary>VQA reports add the blanked-image ablation: the same model with every evaluated image replaced by the mean colour.</summary>
    public bool BlankImageAblation { get; set; }

    internal void Collect(List<string> p, ConfigCheck check, IReadOnlyList<TaskConfig> tasks)
    {
        check(!string.IsNullOrWhiteSpace(EvalSplit), "data.eval_split", EvalSplit, "a split name such as val");
        check(Prefetch >= 0, "data.prefetch", Prefetch, "an integer >= 0 (0: off)");
        check(LengthBuckets >= 0, "data.length_buckets", LengthBuckets, "an integer >= 0 (0: off)");
        check(ImageDrop is >= 0 and <= 1, "data.image_drop", ImageDrop, "a number in [0, 1]");
        foreach (var (type, times) in Repeats ?? [])
            check(times >= 0, $"data.repeats.{type}", times, "an integer >= 0");
        if ((Repeats is { Count: > 0 } || LengthBuckets > 0) && Sources is { Count: > 1 })
            p.Add("data.repeats / data.length_buckets: only with one source.");
        if (DeviceCache && Sources is { Count: > 0 })
        {
            check(Sources.Count == 1, "data.device_cache", true, $"only with one source (there are {Sources.Count})");
            check(Sources.Count != 1 || Sources[0]?.Kind != "rsvqa", "data.device_cache", true, "not with an rsvqa source (questions about left/right/top/bottom forbid some transforms)");
        }
        if (Sources is null || Sources.Count == 0)
        {
            p.Add("data.sources: at least one source is needed.");
            return;
        }
        for (int i = 0; i < Sources.Count; i++)
        {
            if (Sources[i] is null) { p.Add($"data.sources[{i}]: null."); continue; }
            Sources[i].Collect($"data.sources[{i}]", p, check, tasks);
        }
        foreach (var t in tasks.Where(t => t?.Name is not null))
        {
            if (!Sources.Any(s => s is not null && s.TargetsOf(t) is not null))
                p.Add($"tasks: task '{t.Name}' gets targets from no source; give it a \"target\" or map it in a source's \"targets\".");
        }
    }
}

/// <summary>One dataset: synthetic scenes (in memory), UCM-caption, RSVQA or an image folder.</summary>
public sealed class DataSourceConfig
{
    /// <summary><c>synthetic</c>, <c>ucm-caption</c>, <c>rsvqa</c> or <c>image-folder</c>.</summary>
    public string Kind { get; set; } = "synthetic";

    /// <summary>Dataset folder (not for synthetic).</summary>
    public string? Path { get; set; }

    /// <summary>Share of training batches drawn from this source when there are several.</summary>
    public double Proportion { get; set; } = 1.0;

    /// <summary>
    /// Task name → sample entries (a name or a list). With this map, the source serves exactly the tasks
    /// listed; without it, every task that has its own <c>target</c>.
    /// </summary>
    public Dictionary<string, List<string>>? Targets { get; set; }

    /// <summary>Synthetic: training scenes.</summary>
    public int TrainCount { get; set; } = 1000;

    /// <summary>Synthetic: validation scenes.</summary>
    public int ValCount { get; set; } = 200;

    /// <summary>Synthetic: test scenes.</summary>
    public int TestCount { get; set; }

    /// <summary>Synthetic: generator seed; null uses the run's seed.</summary>
    public ulong? GeneratorSeed { get; set; }

    /// <summary>Synthetic: per-pixel noise amplitude; null keeps the generator's default.</summary>
    public int? NoiseAmplitude { get; set; }

    /// <summary>UCM-caption / RSVQA: the training split's name.</summary>
    public string TrainSplit { get; set; } = "train";

    /// <summary>RSVQA: <c>lr</c> or <c>hr</c>.</summary>
    public string Variant { get; set; } = "lr";

    /// <summary>Image folder: fraction of each class held out as the validation split (stratified, seeded).</summary>
    public double ValFraction { get; set; } = 0.2;

    /// <summary>Image folder: fraction held out as the test split.</summary>
    public double TestFraction { get; set; }

    /// <summary>UCM-caption: <c>per_image</c> (one training sample per image, its first sentence) or <c>per_sentence</c> (one per sentence, the usual way to train a caption decoder). Evaluation is always per image.</summary>
    public string CaptionSampling { get; set; } = "per_image";

    /// <summary>UCM-caption: longest caption in tokens, start and end tokens included (UCM-caption's longest sentence has 22 words).</summary>
    public int CaptionMaxLength { get; set; } = 32;

    /// <summary>UCM-caption: words seen fewer times in the training captions become &lt;unk&gt;.</summary>
    public int CaptionMinCount { get; set; } = 1;

    /// <summary>The targets of <paramref name="task"/> on this source, or null when it does not serve the task.</summary>
    public IReadOnlyList<string>? TargetsOf(TaskConfig task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (Targets is not null)
            return Targets.TryGetValue(task.Name, out var keys) ? keys : null;
        return task.Target;
    }

    internal void Collect(string at, List<string> p, ConfigCheck check, IReadOnlyList<TaskConfig> tasks)
    {
        check(Kind is "synthetic" or "ucm-caption" or "rsvqa" or "image-folder", $"{at}.kind", Kind, "synthetic, ucm-caption, rsvqa or image-folder");
        if (Kind is "ucm-caption" or "rsvqa" or "image-folder")
            check(!string.IsNullOrWhiteSpace(Path), $"{at}.path", Path, "the dataset folder");
        check(Proportion > 0 && double.IsFinite(Proportion), $"{at}.proportion", Proportion, "a finite number > 0");
        check(TrainCount >= 1, $"{at}.train_count", TrainCount, "an integer >= 1");
        check(ValCount >= 0, $"{at}.val_count", ValCount, "an integer >= 0");
        check(TestCount >= 0, $"{at}.test_count", TestCount, "an integer >= 0");
        check(NoiseAmplitude is null or (>= 0 and <= 64), $"{at}.noise_amplitude", NoiseAmplitude, "an integer in [0, 64], or null");
        check(Variant is "lr" or "hr", $"{at}.variant", Variant, "lr or hr");
        check(CaptionSampling is "per_image" or "per_sentence", $"{at}.caption_sampling", CaptionSampling, "per_image or per_sentence");
        check(CaptionMaxLength >= 3, $"{at}.caption_max_length", CaptionMaxLength, "an integer >= 3 (start token, a word, end token)");
        check(CaptionMinCount >= 1, $"{at}.caption_min_count", CaptionMinCount, "an integer >= 1");
        check(ValFraction is >= 0 and < 1 && TestFraction is >= 0 and < 1 && ValFraction + TestFraction < 1, $"{at}.val_fraction", ValFraction,
            $"fractions in [0, 1) whose sum with test_fraction ({TestFraction}) is < 1");
        if (Targets is not null)
        {
            foreach (var (task, keys) in Targets)
            {
                check(tasks.Any(t => t?.Name == task), $"{at}.targets.{task}", task, "the name of a task in \"tasks\"");
                check(keys is { Count: > 0 } && keys.All(k => !string.IsNullOrWhiteSpace(k)), $"{at}.targets.{task}", keys is null ? null : "[" + string.Join(", ", keys) + "]", "a sample entry name or a non-empty list of them");
            }
        }
    }
}

/// <summary>Reads a target as either one string or an array of strings.</summary>
internal sealed class TargetListConverter : JsonConverter<List<string>>
{
    public override List<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        if (reader.TokenType == JsonTokenType.String)
            return [reader.GetString()!];
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException("Expected a string or an array of strings.");
        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
                throw new JsonException("Expected an array of strings.");
            list.Add(reader.GetString()!);
        }
        return list;
    }

    public override void Write(Utf8JsonWriter writer, List<string> value, JsonSerializerOptions options)
    {
        if (value.Count == 1)
        {
            writer.WriteStringValue(value[0]);
            return;
        }
        writer.WriteStartArray();
        foreach (var v in value)
            writer.WriteStringValue(v);
        writer.WriteEndArray();
    }
}
