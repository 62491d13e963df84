using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Modules;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Evaluation;

namespace SpatialNet.Training.Configuration;

/// <summary>
/// A training run as configuration binds it — the same options classes the DI builder uses:
/// <c>model</c> (<see cref="VisionTransformerOptions"/>), <c>tasks</c> (<see cref="TaskOptions"/> with
/// their head options), <c>loss</c> (<see cref="SpatialNetOptions"/>: composer, λ_reg), <c>trainer</c>
/// (<see cref="TrainerOptions"/>: optimizer, schedule, precision, seed, early stopping, checkpoints) and
/// <c>data</c> (<see cref="DataOptions"/>), plus where the run writes and which device it uses.
/// docs/training.md lists every key.
/// </summary>
public sealed class TrainingRunOptions
{
    private static readonly IReadOnlySet<string> RunManagedTrainerKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "checkpointdirectory", "outputdirectory", "keepfloat32inputs", "parametergroups", "noweightdecay",
    };

    /// <summary>Folder for checkpoints, history, curves, reports and the final weights.</summary>
    public string OutputDir { get; set; } = "runs/spatialnet";

    /// <summary><c>cpu</c> (default), <c>cuda</c>, <c>cuda:N</c>, or <c>auto</c> (CUDA when available).</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>torch CPU threads; null leaves torch's default.</summary>
    public int? Threads { get; set; }

    /// <summary>
    /// Encoder weights to start from (timm or Hugging Face safetensors / PyTorch file), loaded into the
    /// encoder strictly (every encoder key and shape must match; a pretrained classifier is ignored); null for random initialisation.
    /// </summary>
    public string? Pretrained { get; set; }

    /// <summary>
    /// The published SHA-256 of <see cref="Pretrained"/> (64 hexadecimal digits; a hub lists it beside the file,
    /// docs/weights.md): the file is verified before it is loaded. Null loads it unverified.
    /// </summary>
    public string? PretrainedSha256 { get; set; }

    /// <summary>Encoder key prefixes <see cref="Pretrained"/> may lack (e.g. <c>pos_embed</c>); they keep their random initialisation.</summary>
    public IList<string> PretrainedAllowMissing { get; set; } = [];

    /// <summary>The Vision Transformer.</summary>
    public VisionTransformerOptions Model { get; set; } = new();

    /// <summary>The tasks (at least one), in head order.</summary>
    public List<TaskOptions> Tasks { get; set; } = [];

    /// <summary>Loss composer name and the L2 term (Eq. 6, 10–11); each composer's settings are bound from <c>loss:&lt;name&gt;</c> by the model's registrations.</summary>
    public SpatialNetOptions Loss { get; set; } = new();

    /// <summary>Optimizer, schedule, precision, seed, epochs, early stopping and checkpoints.</summary>
    public TrainerOptions Trainer { get; set; } = new() { EarlyStoppingPatience = 5 };

    /// <summary>Data sources, batching and augmentation.</summary>
    public DataOptions Data { get; set; } = new();

    /// <summary>The run's seed (<c>trainer:seed</c>, default 1): initialisation, shuffling, augmentation, synthetic scenes.</summary>
    public ulong Seed => Trainer.Seed ?? 1;

    /// <summary>Binds <paramref name="configuration"/> and validates the result.</summary>
    /// <param name="configuration">The run's configuration (<see cref="SpatialNetConfiguration.Load"/>).</param>
    /// <param name="source">Name of the configuration for messages (its file), or null.</param>
    /// <exception cref="ConfigurationException">Unknown keys, values that do not convert or are out of range, each named by its path.</exception>
    public static TrainingRunOptions Bind(IConfiguration configuration, string? source = null) => Bind(configuration, source, RunComponents.BuiltIn);

    /// <summary>Binds <paramref name="configuration"/>, whose tasks and loss may name <paramref name="components"/>, and validates the result.</summary>
    internal static TrainingRunOptions Bind(IConfiguration configuration, string? source, RunComponents components)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new TrainingRunOptions();
        var problems = new List<string>();
        BindInto(configuration, options, problems, components);
        if (problems.Count == 0)
            problems.AddRange(options.Problems());
        if (problems.Count > 0)
            throw new ConfigurationException(source, problems);
        return options;
    }

    /// <summary>Binds <paramref name="configuration"/> onto <paramref name="options"/> without validating the values; tasks and loss may name <paramref name="components"/>.</summary>
    internal static void BindInto(IConfiguration configuration, TrainingRunOptions options, List<string> problems, RunComponents components)
    {
        var path = (configuration as IConfigurationSection)?.Path ?? string.Empty;
        StrictConfigurationBinder.Bind(configuration, options, path, problems, new HashSet<string> { "tasks", "loss" });
        // The loss section: composer, λ_reg, and each built-in composer's own section loss:<name>.
        var loss = StrictConfigurationBinder.Child(configuration, "loss") ?? configuration.GetSection("loss");
        LossComposerRegistry.Bind(loss, options.Loss, components.Composers, loss.Path, problems);
        if (StrictConfigurationBinder.Child(configuration, "trainer") is { } trainer)
        {
            foreach (var key in trainer.GetChildren().Where(k => RunManagedTrainerKeys.Contains(StrictConfigurationBinder.Normalize(k.Key))))
                problems.Add($"{key.Path}: set by the run (from output_dir, the tasks and loss:l2_lambda); remove it.");
        }

        foreach (var task in (StrictConfigurationBinder.Child(configuration, "tasks") ?? configuration.GetSection("tasks")).GetChildren())
            options.Tasks.Add(BindTask(task, problems, options.Model, components.Kinds));
    }

    /// <summary>Every problem with the values, each naming its configuration path, value and what is allowed; empty when valid.</summary>
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
        Check(Threads is null or > 0, "threads", Threads, "a positive integer or null");
        Check(PretrainedSha256 is null || SpatialNet.Weights.StateDictFile.IsSha256(PretrainedSha256), "pretrained_sha256", PretrainedSha256, "64 hexadecimal digits (the file's published SHA-256) or null");
        Check(PretrainedSha256 is null || Pretrained is not null, "pretrained_sha256", PretrainedSha256, "only with a pretrained file");
        p.AddRange(Model.Validate().Select(e => "model: " + e));
        p.AddRange(new SpatialNetOptionsValidator().Validate(null, WithTasks()).Failures ?? []);
        try
        {
            Trainer.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            p.Add($"trainer:{StrictConfigurationBinder.SnakeCase(e.ParamName ?? "?")} = {Show(e.ActualValue)}: {e.Message.Split(Environment.NewLine)[0]}");
        }

        if (Tasks.Count == 0)
            p.Add("tasks: at least one task is needed.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Tasks.Count; i++)
        {
            var t = Tasks[i];
            var at = $"tasks:{i}";
            Check(TaskDefinition.NameError(t.Name) is null && t.Name != "image", $"{at}:name", t.Name, TaskDefinition.AllowedNameDescription + ", not \"image\"");
            if (!names.Add(t.Name))
                p.Add($"{at}:name = \"{t.Name}\": allowed a name not used by another task.");
            Check(t.Target is null || (t.Target.Count > 0 && t.Target.All(x => !string.IsNullOrWhiteSpace(x))), $"{at}:target",
                t.Target is null ? null : "[" + string.Join(", ", t.Target) + "]", "a sample entry name or a non-empty list of them");
            if (t.KindRegistration is { } registration)
            {
                var kind = TrainingTaskKinds.Of(registration);
                if (kind.ClassIndexTargets && t.Target is { Count: > 1 })
                    p.Add($"{at}:target = [{string.Join(", ", t.Target)}]: allowed one entry for a {t.Kind} task (class indices).");
                foreach (var m in t.Metrics ?? [])
                    Check(kind.Metrics.Contains(m), $"{at}:metrics", m, string.Join(", ", kind.Metrics));
            }

            if (t.Head is ClassificationHeadOptions { NumClasses: not 0 and < 2 } c)
                Check(false, $"{at}:head:num_classes", c.NumClasses, "an integer >= 2, or 0 for the dataset's class list");
        }

        // A monitored metric "<task>/<metric>" names a task of this run (checked before training, not after the first epoch).
        if (Trainer.MonitorMetric is { } monitored && monitored.Contains('/', StringComparison.Ordinal) && !monitored.StartsWith("train_", StringComparison.Ordinal)
            && !Tasks.Any(t => monitored.StartsWith(t.Name + "/", StringComparison.Ordinal)))
            Check(false, "trainer:monitor_metric", monitored,
                $"\"<task>/<metric>\" with one of the tasks {string.Join(", ", Tasks.Select(t => t.Name))}, \"loss\", \"train_loss\" or a metric of a host evaluator");
        Data.Collect(p, Check, Tasks);
        return p;
    }

    // SpatialNetOptions with this run's task list, for its validator.
    private SpatialNetOptions WithTasks()
    {
        var o = new SpatialNetOptions { L2Lambda = Loss.L2Lambda, LossComposer = Loss.LossComposer };
        foreach (var t in Tasks.Where(t => t.ParsedKind is not null))
            o.Tasks.Add(new TaskDefinition(t.Name, t.ParsedKind!.Value) { HeadOptionsType = t.Head.GetType() });
        return o;
    }

    private static TaskOptions BindTask(IConfigurationSection section, List<string> problems, VisionTransformerOptions model,
        IReadOnlyList<TaskKindRegistration> kinds)
    {
        var task = new TaskOptions();
        StrictConfigurationBinder.Bind(section, task, section.Path, problems, new HashSet<string> { "head" });
        if (TaskKindRegistry.Find(kinds, task.Kind) is not { } kind)
        {
            problems.Add(TaskKindRegistry.Unknown($"{section.Path}:kind", task.Kind, kinds));
            return task;
        }

        task.KindRegistration = kind;
        task.Head = kind.NewHeadOptions();
        var head = StrictConfigurationBinder.Child(section, "head");
        var dataDecided = kind.Kind == TaskKind.Classification ? SpatialNetConfigurationExtensions.DataDecidedKeys(head) : null;
        task.BalancedClassWeights = dataDecided is not null;
        int before = problems.Count;
        if (head is not null)
            StrictConfigurationBinder.Bind(head, task.Head, head.Path, problems, dataDecided);
        if (problems.Count > before)
            return task;

        // The head's own rules, on a copy whose data-decided sizes (classes, vocabularies) hold valid placeholders.
        var probe = kind.NewHeadOptions();
        if (head is not null)
            StrictConfigurationBinder.Bind(head, probe, head.Path, problems, dataDecided);
        kind.UsePlaceholderSizes(probe, model.NumHeads, key => StrictConfigurationBinder.Child(head ?? section, key) is not null);
        var layout = model.Validate().Count == 0 ? new TokenLayout(model.EmbedDim, model.ClassToken ? 1 : 0) : (TokenLayout?)null;
        problems.AddRange(probe.Validate(task.Name, layout).Select(e => $"{section.Path}:head: {e}"));
        return task;
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
