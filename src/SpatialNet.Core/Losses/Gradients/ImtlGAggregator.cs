namespace SpatialNet.Losses;

/// <summary>
/// IMTL-G (Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021) in TorchJD's
/// generalised form: w ∝ pinv(GGᵀ)·√diag(GGᵀ), scaled to Σw = 1 (zero when the sum is below 1e-12).
/// </summary>
internal sealed class ImtlGAggregator : GradientAggregator
{
    /// <inheritdoc />
    public override double[] Weights(GradientStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        var d = Enumerable.Range(0, n).Select(i => Math.Sqrt(Math.Max(step.Gramian[i, i], 0))).ToArray();
        var v = DenseMath.Multiply(DenseMath.PseudoInverse(step.Gramian, step.Epsilon), d);
        double sum = v.Sum();
        return Math.Abs(sum) < 1e-12 ? new double[n] : v.Select(x => x / sum).ToArray();
    }
}
