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
    }
}
