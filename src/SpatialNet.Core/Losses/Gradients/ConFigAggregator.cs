namespace SpatialNet.Losses;

/// <summary>
/// ConFIG (Liu et al., "ConFIG: Towards Conflict-free Training of Physics Informed Neural
/// Networks", 2024, Eq. 2), as TorchJD v0.17 with its default preference of ones, in Gramian form:
/// with the unit rows U = D⁻¹G (D the row norms, zero rows kept zero), the direction
/// d = pinv(U)·1 = Gᵀb, b = D⁻¹(UUᵀ)⁺1; the update is (Σ_i g_i·d̂)·d̂ with d̂ = d/‖d‖, so
/// w = b·(1ᵀGGᵀb)/(bᵀGGᵀb).
/// </summary>
internal sealed class ConFigAggregator : GradientAggregator
{
    /// <inheritdoc />
    public override double[] Weights(GradientStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        var g = step.Gramian;
        var inverseNorm = Enumerable.Range(0, n).Select(i => g[i, i] > 0 ? 1 / Math.Sqrt(g[i, i]) : 0).ToArray();
        var unit = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
                unit[i, j] = g[i, j] * inverseNorm[i] * inverseNorm[j];
        }

        var a = DenseMath.Multiply(DenseMath.PseudoInverse(unit, step.Epsilon), Enumerable.Repeat(1.0, n).ToArray());
        var b = a.Select((x, i) => x * inverseNorm[i]).ToArray();
        var gb = DenseMath.Multiply(g, b);
        double squaredLength = DenseMath.Dot(b, gb);
        double norm = Math.Max(Math.Sqrt(Math.Max(squaredLength, 0)), 1e-12);   // torch.nn.functional.normalize's eps
        double length = gb.Sum() / norm;
        return b.Select(x => x * length / norm).ToArray();
    }
}
