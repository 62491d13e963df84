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
