namespace SpatialNet.Heads;

/// <summary>Settings of a <see cref="RegressionHead"/>.</summary>
public sealed class RegressionHeadOptions : TaskHeadOptions
{
    /// <summary>Number of values predicted per image; at least 1. With 1 the predictions are [B], else [B, K].</summary>
    public int Outputs { get; set; } = 1;

    /// <summary>
    /// Mean μ used to normalise targets, t' = (t − μ)/σ, before the MSE; predictions are
    /// de-normalised by <see cref="RegressionHead.Predict"/>. Default 0 (no shift).
    /// </summary>
    public double TargetMean { get; set; }

    /// <summary>Standard deviation σ of the target normalisation; positive. Default 1 (no scaling).</summary>
    public double TargetStd { get; set; } = 1.0;

    /// <summary>
    /// Per-output means μ_k (one per output); <c>null</c> uses <see cref="TargetMean"/> for every output.
    /// Outputs of different scales (a count and a fraction) need their own statistics.
    /// </summary>
    public IReadOnlyList<double>? TargetMeans { get; set; }

    /// <summary>Per-output standard deviations σ_k (one per output, each positive); <c>null</c> uses <see cref="TargetStd"/>.</summary>
    public IReadOnlyList<double>? TargetStds { get; set; }

    /// <inheritdoc />
    protected override void CollectErrors(string taskName, List<string> errors)
    {
        base.CollectErrors(taskName, errors);
        if (Outputs < 1)
        {
            errors.Add(Message(taskName, nameof(Outputs), Outputs, "an integer >= 1"));
        }

        if (!double.IsFinite(TargetMean))
        {
            errors.Add(Message(taskName, nameof(TargetMean), TargetMean, "a finite number"));
        }

        if (!(TargetStd > 0) || double.IsInfinity(TargetStd))
        {
            errors.Add(Message(taskName, nameof(TargetStd), TargetStd, "a finite number > 0"));
        }

        if (TargetMeans is { } means && (means.Count != Outputs || means.Any(m => !double.IsFinite(m))))
        {
            errors.Add(Message(taskName, nameof(TargetMeans), $"[{string.Join(", ", means)}]", $"{Outputs} finite numbers (one per output)"));
        }

        if (TargetStds is { } stds && (stds.Count != Outputs || stds.Any(s => !(s > 0) || double.IsInfinity(s))))
        {
            errors.Add(Message(taskName, nameof(TargetStds), $"[{string.Join(", ", stds)}]", $"{Outputs} finite numbers > 0 (one per output)"));
        }
    }
}
