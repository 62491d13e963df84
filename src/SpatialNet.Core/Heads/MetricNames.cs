namespace SpatialNet.Heads;

/// <summary>
/// Names of the metrics heads ask for by default. The metrics layer (SpatialNet.Training) maps a
/// name to its implementation; a head's options may list other names.
/// </summary>
public static class MetricNames
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

    /// <summary>VQA: unweighted mean of the per-question-type accuracies (AA).</summary>
    public const string AverageAccuracy = "average_accuracy";

    /// <summary>VQA: accuracy of each question type (count, presence, comparison, rural/urban).</summary>
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
}
