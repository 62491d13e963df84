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
}
