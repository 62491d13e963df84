namespace SpatialNet.Losses;

/// <summary>
/// DualProj (Quinton and Rey 2024), as TorchJD v0.17: the mean gradient projected onto the dual
/// cone of the rows, w = argmin vᵀG̃v s.t. v ≥ 1/T, G̃ = GGᵀ/tr(GGᵀ) + reg_eps·I.
/// </summary>
internal sealed class DualProjAggregator : GradientAggregator
{
    /// <summary>Options <c>norm_eps</c> and <c>reg_eps</c> (both 1e-4, TorchJD's defaults).</summary>
    public DualProjAggregator(double normEps = 1e-4, double regEps = 1e-4)
    {
        NormEps = Require(normEps >= 0 && double.IsFinite(normEps), normEps, "dualproj", "norm_eps", "a finite number >= 0");
        RegEps = Require(regEps >= 0 && double.IsFinite(regEps), regEps, "dualproj", "reg_eps", "a finite number >= 0");
    }

    /// <summary>Below this trace the Gramian counts as zero.</summary>
    public double NormEps { get; }

    /// <summary>Added to the normalised Gramian's diagonal.</summary>
    public double RegEps { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        return DualCone.ProjectWeights(DualCone.Prepare(step.Gramian, NormEps, RegEps), Enumerable.Repeat(1.0 / n, n).ToArray());
    }
}

/// <summary>Settings of <see cref="DualProjAggregator"/> (configuration <c>loss:dualproj</c>).</summary>
internal sealed class DualProjOptions : DualConeOptions
{
}
