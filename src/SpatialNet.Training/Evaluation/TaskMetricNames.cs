using SpatialNet.Heads;


namespace SpatialNet.Training.Evaluation;

/// <summary>
/// The one place for metric names: what the evaluator computes per task kind, the defaults, and
/// which way is better. A task's configured list (<c>tasks:N:metrics</c>) picks among
/// <see cref="Supported"/>. Metrics are reported as <c>{task}/{metric}</c>, e.g. <c>land_use/accuracy</c>.
/// </summary>
public static class TaskMetricNames
{
    /// <summary>Top-1 accuracy (share of samples whose arg-max class is the target).</summary>
    public const string Accuracy = "accuracy";

    /// <summary>Unweighted mean of per-class F1 scores.</summary>
    public const string MacroF1 = "macro_f1";

    /// <summary>F1 over all (sample, label) decisions pooled together.</summary>
    public const string MicroF1 = "micro_f1";

    /// <summary>Mean of per-label average precision.</summary>
    public const string MeanAveragePrecision = "mean_average_precision";

    /// <summary>Mean absolute error, in target units.</summary>
    public const string MeanAbsoluteError = "mae";

    /// <summary>Root mean squared error, in target units.</summary>
    public const string RootMeanSquaredError = "rmse";

    /// <summary>VQA: accuracy over all questions (OA).</summary>
    public const string OverallAccuracy = "overall_accuracy";

    /// <summary>VQA: mean of the per-question-type accuracies (AA).</summary>
    public const string AverageAccuracy = "average_accuracy";

    /// <summary>VQA: one <c>{type}_accuracy</c> metric per question type (<c>count_accuracy</c>, <c>presence_accuracy</c>, <c>comp_accuracy</c>, <c>rural_urban_accuracy</c>).</summary>
    public const string PerTypeAccuracy = "per_type_accuracy";

    /// <summary>Captioning: BLEU-1 (COCO caption evaluation).</summary>
    public const string Bleu1 = "bleu_1";

    /// <summary>Captioning: BLEU-2.</summary>
    public const string Bleu2 = "bleu_2";

    /// <summary>Captioning: BLEU-3.</summary>
    public const string Bleu3 = "bleu_3";

    /// <summary>Captioning: BLEU-4.</summary>
    public const string Bleu4 = "bleu_4";

    /// <summary>Captioning: METEOR.</summary>
    public const string Meteor = "meteor";

    /// <summary>Captioning: ROUGE-L.</summary>
    public const string RougeL = "rouge_l";

    /// <summary>Captioning: CIDEr-D.</summary>
    public const string Cider = "cider";

    /// <summary>VQA: (AA + OA) / 2, one number for selecting an epoch that weighs the rare types and the whole split alike.</summary>
    public const string AverageOverallMean = "aa_oa_mean";

    /// <summary>Suffix of the per-type VQA metrics.</summary>
    public const string PerTypeSuffix = "_accuracy";

    /// <summary>Name of a task's mean loss on the evaluated split (<c>{task}/loss</c>); the sum over tasks is <c>loss</c>.</summary>
    public const string Loss = "loss";

    /// <summary>The metrics a built-in kind supports, in the order reports list them (its registration's <see cref="ITrainingTaskKind.Metrics"/>).</summary>
    public static IReadOnlyList<string> Supported(TaskKind kind) => TrainingTaskKinds.Of(kind).Metrics;

    /// <summary>The metrics a task of the built-in <paramref name="kind"/> reports when its configuration names none.</summary>
    public static IReadOnlyList<string> Defaults(TaskKind kind) => TrainingTaskKinds.Of(kind).DefaultMetrics;

    /// <summary>The metrics that evaluate <paramref name="task"/>: its own list, or its kind's <see cref="Defaults"/>.</summary>
    /// <exception cref="ArgumentException">A metric is not supported for the task's kind (the message lists those that are).</exception>
    public static IReadOnlyList<string> Of(TaskDefinition task)
    {
        ArgumentNullException.ThrowIfNull(task);
        var kind = TrainingTaskKinds.Of(task);
        var metrics = task.Metrics ?? kind.DefaultMetrics;
        var supported = kind.Metrics;
        foreach (var m in metrics)
        {
            if (!supported.Contains(m))
                throw new ArgumentException($"Task '{task.Name}': metric '{m}' is not available for {task.Kind} tasks; available: {string.Join(", ", supported)}.");
        }
        return metrics;
    }
}
