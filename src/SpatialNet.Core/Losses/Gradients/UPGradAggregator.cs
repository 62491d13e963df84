namespace SpatialNet.Losses;

/// <summary>
/// UPGrad (Quinton and Rey, "Jacobian Descent for Multi-Objective Optimization", 2024), as
/// TorchJD v0.17: each g_i/T projected onto the dual cone of the rows, summed:
/// w = Σ_i v_i, v_i = argmin vᵀG̃v s.t. v ≥ e_i/T, G̃ = GGᵀ/tr(GGᵀ) + reg_eps·I.
/// </summary>
internal sealed class UPGradAggregator : GradientAggregator
{
    /// <summary>Options <c>norm_eps</c> and <c>reg_eps</c> (both 1e-4, TorchJD's defaults).</summary>
    public UPGradAggregator(double normEps = 1e-4, double regEps = 1e-4)
    {
        NormEps = Require(normEps >= 0 && double.IsFinite(normEps), normEps, "upgrad", "norm_eps", "a finite number >= 0");
        RegEps = Require(regEps >= 0 && double.IsFinite(regEps), regEps, "upgrad", "reg_eps", "a finite number >= 0");
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
        var g = DualCone.Prepare(step.Gramian, NormEps, RegEps);
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            var u = new double[n];
            u[i] = 1.0 / n;
            var v = DualCone.ProjectWeights(g, u);
            for (int k = 0; k < n; k++)
                w[k] += v[k];
        }

        return w;
    }
}

/// <summary>Settings of <see cref="UPGradAggregator"/> (configuration <c>loss:upgrad</c>).</summary>
internal sealed class UPGradOptions : DualConeOptions
{
}
