namespace SpatialNet.Losses;

/// <summary>
/// Projection onto the dual cone of the task gradients (Quinton and Rey 2024, Proposition 1): the
/// projection of Gᵀu onto {x : G x ≥ 0} is Gᵀv with v = argmin vᵀ(GGᵀ)v subject to v ≥ u.
/// </summary>
internal static class DualCone
{
    /// <summary>TorchJD's normalize then regularize: GGᵀ/trace (zero when trace &lt; <paramref name="normEps"/>) + <paramref name="regEps"/>·I.</summary>
    public static double[,] Prepare(double[,] gramian, double normEps, double regEps)
    {
        double trace = DenseMath.Trace(gramian);
        return DenseMath.ScaleShift(gramian, trace < normEps ? 0 : 1 / trace, regEps);
    }

    /// <summary>The weights v of the projection of Gᵀu (exact, by <see cref="ActiveSetQp"/> on x = v − u ≥ 0).</summary>
    public static double[] ProjectWeights(double[,] gramian, double[] u)
    {
        var gu = DenseMath.Multiply(gramian, u);
        var x = ActiveSetQp.Solve(gramian, gu, simplex: false);
        return u.Select((ui, i) => ui + x[i]).ToArray();
    }
}

/// <summary>The settings UPGrad and DualProj share: the Gramian's normalisation and regularisation (TorchJD's names and defaults).</summary>
internal abstract class DualConeOptions : GradientStrategyOptions
{
    /// <summary>Below this trace the Gramian counts as zero; ≥ 0. Default 1e-4 (TorchJD).</summary>
    public double NormEps { get; set; } = 1e-4;
    /// <summary>Added to the normalised Gramian's diagonal; ≥ 0. Default 1e-4 (TorchJD).</summary>
    public double RegEps { get; set; } = 1e-4;

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        NonNegative(errors, nameof(NormEps), NormEps);
        NonNegative(errors, nameof(RegEps), RegEps);
    }

    private static void NonNegative(ICollection<string> errors, string option, double value)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            errors.Add(Message(option, value, "a finite number >= 0"));
    }
}
