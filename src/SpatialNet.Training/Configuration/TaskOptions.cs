using Microsoft.Extensions.DependencyInjection;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;

namespace SpatialNet.Training.Configuration;

/// <summary>
/// One task of a run (<c>tasks:N</c>): its name and kind, its head options (<c>head</c>, bound onto the
/// kind's <see cref="TaskHeadOptions"/>: λ_t, pooling, label smoothing, decoder, …), its metrics and how
/// its targets are read from the data. Sizes that the data decides (classes, vocabularies, target
/// statistics) are filled in when the data is opened.
/// </summary>
public sealed class TaskOptions
{
    /// <summary>Task keys besides <c>name</c>, <c>kind</c> and <c>head</c> (normalised), read by the training run.</summary>
    internal static readonly IReadOnlySet<string> TrainingKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "target", "metrics", "classnames", "normalizetargets", "questionagnostic", "retrievaltask", "evaluateeveryepoch",
    };

    /// <summary>Task name (letters, digits, '_', '-'): the head's name, the key of its targets and the prefix of its metrics.</summary>
    public string Name { get; set; } = "";

    /// <summary><c>classification</c>, <c>regression</c>, <c>multi_label</c>, <c>vqa</c> or <c>caption</c>.</summary>
    public string Kind { get; set; } = "classification";

    /// <summary>The head's options, of the kind's type (bound from <c>head</c>).</summary>
    public TaskHeadOptions Head { get; set; } = new ClassificationHeadOptions();

    /// <summary>
    /// Sample entries holding the targets, for every source without its own <c>targets</c> entry for this
    /// task: a name (<c>"label"</c>) or a list stacked into [B, K] (multi-label presence, K regression outputs).
    /// </summary>
    public List<string>? Target { get; set; }

    /// <summary>Metric names that evaluate the task (<see cref="Evaluation.TaskMetricNames.Supported"/> of its kind); null: the kind's defaults.</summary>
    public List<string>? Metrics { get; set; }

    /// <summary>Class or label names for reports; null takes the dataset's.</summary>
    public List<string>? ClassNames { get; set; }

    /// <summary>Regression: normalise targets with the training split's mean and standard deviation (Eq. 8 on t' = (t − μ)/σ).</summary>
    public bool NormalizeTargets { get; set; } = true;

    /// <summary>vqa: an answer classifier that sees only the image (a baseline) instead of the VQA head.</summary>
    public bool QuestionAgnostic { get; set; }

    /// <summary>caption: the classification task whose predicted class picks the retrieval baseline's caption; null: the first of the same source reading <c>label</c>.</summary>
    public string? RetrievalTask { get; set; }

    /// <summary>caption: generate and score captions after every epoch (<c>{task}/cider</c> etc. become epoch metrics); false: only for the reports.</summary>
    public bool EvaluateEveryEpoch { get; set; } = true;

    /// <summary>classification: <c>head:class_weights</c> is <c>"balanced"</c>, filled in from the training split's class counts.</summary>
    internal bool BalancedClassWeights { get; set; }

    /// <summary>The kind, or null when <see cref="Kind"/> names no registered kind.</summary>
    public TaskKind? ParsedKind => KindRegistration?.Kind;

    /// <summary>The registration <see cref="Kind"/> names (set when configuration is bound; otherwise looked up among the built-in kinds), or null.</summary>
    internal TaskKindRegistration? KindRegistration
    {
        get => _kind is not null && _kind.IsNamed(Kind) ? _kind : TaskKindRegistry.Find(Evaluation.TrainingTaskKinds.BuiltIn, Kind);
        set => _kind = value;
    }

    private TaskKindRegistration? _kind;
}
