namespace SpatialNet.Training.Engine;

/// <summary>Whether a monitored metric improves by going down or up.</summary>
public enum MetricMode
{
    /// <summary>Lower is better (losses, errors).</summary>
    Min,

    /// <summary>Higher is better (accuracy, BLEU).</summary>
    Max,
}

/// <summary>The direction of a metric, from its name: losses and errors go down, scores go up.</summary>
public static class MetricModes
{
    /// <summary>
    /// <see cref="MetricMode.Min"/> for a loss (a name ending in "loss") or an error ("mae", "rmse"),
    /// <see cref="MetricMode.Max"/> otherwise; a task prefix ("count/mae") is ignored.
    /// </summary>
    public static MetricMode Of(string metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        var name = metric.Contains('/', StringComparison.Ordinal) ? metric[(metric.LastIndexOf('/') + 1)..] : metric;
        return name is "mae" or "rmse" || name.EndsWith("loss", StringComparison.Ordinal) ? MetricMode.Min : MetricMode.Max;
    }
}

/// <summary>Saved state of <see cref="EarlyStopping"/>.</summary>
/// <param name="BestValue">Best value seen, or <c>null</c> before the first update.</param>
/// <param name="BestEpoch">1-based epoch of the best value (0 before the first update).</param>
/// <param name="EpochsWithoutImprovement">Consecutive updates without improvement.</param>
public sealed record EarlyStoppingState(double? BestValue, int BestEpoch, int EpochsWithoutImprovement);

/// <summary>
/// Stops training when a named metric has not improved (by more than <see cref="MinDelta"/>) for
/// <see cref="Patience"/> consecutive epochs.
/// </summary>
public sealed class EarlyStopping
{
    /// <summary>Creates the rule.</summary>
    /// <param name="metric">Name of the monitored metric (an evaluation metric or <c>train_loss</c>).</param>
    /// <param name="mode">Direction of improvement.</param>
    /// <param name="patience">Epochs without improvement tolerated before stopping, ≥ 1.</param>
    /// <param name="minDelta">Smallest change that counts as improvement, ≥ 0.</param>
    public EarlyStopping(string metric, MetricMode mode = MetricMode.Min, int patience = 5, double minDelta = 0.0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(metric);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patience);
        if (!(minDelta >= 0) || double.IsInfinity(minDelta))
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "Must be a finite number >= 0.");
        if (!Enum.IsDefined(mode))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Allowed: Min, Max.");
        Metric = metric;
        Mode = mode;
        Patience = patience;
        MinDelta = minDelta;
    }

    /// <summary>Monitored metric name.</summary>
    public string Metric { get; }

    /// <summary>Direction of improvement.</summary>
    public MetricMode Mode { get; }

    /// <summary>Epochs without improvement tolerated.</summary>
    public int Patience { get; }

    /// <summary>Smallest improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Best value so far, or <c>null</c>.</summary>
    public double? BestValue { get; private set; }

    /// <summary>1-based epoch of <see cref="BestValue"/>.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>Consecutive epochs without improvement.</summary>
    public int EpochsWithoutImprovement { get; private set; }

    /// <summary>True once <see cref="EpochsWithoutImprovement"/> reached <see cref="Patience"/>.</summary>
    public bool ShouldStop => EpochsWithoutImprovement >= Patience;

    /// <summary>Records the metric of 1-based epoch <paramref name="epoch"/>; returns true when it is a new best. NaN never improves.</summary>
    public bool Update(int epoch, double value)
    {
        bool improved = !double.IsNaN(value) && (BestValue is not double best ||
            (Mode == MetricMode.Min ? value < best - MinDelta : value > best + MinDelta));
        if (improved)
        {
            BestValue = value;
            BestEpoch = epoch;
            EpochsWithoutImprovement = 0;
        }
        else
        {
            EpochsWithoutImprovement++;
        }
        return improved;
    }

    /// <summary>The state needed to resume.</summary>
    public EarlyStoppingState ExportState() => new(BestValue, BestEpoch, EpochsWithoutImprovement);

    /// <summary>Restores a saved state.</summary>
    public void ImportState(EarlyStoppingState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        BestValue = state.BestValue;
        BestEpoch = state.BestEpoch;
        EpochsWithoutImprovement = state.EpochsWithoutImprovement;
    }
}
