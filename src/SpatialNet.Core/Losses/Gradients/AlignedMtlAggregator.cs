namespace SpatialNet.Losses;

/// <summary>
/// Aligned-MTL (Senushkin et al., "Independent Component Alignment for Multi-Task Learning",
/// CVPR 2023), as TorchJD v0.17: with GGᵀ = VΛVᵀ over its rank r (eigenvalues above
/// λ_max·T·ε_float32), B = √s·V Λ^(−1/2) Vᵀ and w = B·(1/T); s is the smallest (<c>min</c>), the
/// lower median (<c>median</c>) or the mean (<c>rmse</c>) kept eigenvalue. LibMTL's weights are T times these.
/// </summary>
internal sealed class AlignedMtlAggregator : GradientAggregator
{
    private static readonly string[] Modes = ["min", "median", "rmse"];

    /// <summary>Option <c>scale_mode</c> (min).</summary>
    public AlignedMtlAggregator(string scaleMode = "min")
    {
        ArgumentNullException.ThrowIfNull(scaleMode);
        if (!Modes.Contains(scaleMode, StringComparer.Ordinal))
            throw new ArgumentOutOfRangeException(nameof(scaleMode), scaleMode, $"loss:aligned_mtl:scale_mode must be one of {string.Join(", ", Modes)}; got '{scaleMode}'.");
        ScaleMode = scaleMode;
    }

    /// <summary>min, median or rmse.</summary>
    public string ScaleMode { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        var uniform = Enumerable.Repeat(1.0 / n, n).ToArray();
        var (values, vectors) = DenseMath.SymmetricEigen(step.Gramian);
        double tolerance = values.Max() * n * DenseMath.Float32Epsilon;
        var kept = Enumerable.Range(0, n).Where(k => values[k] > tolerance).OrderByDescending(k => values[k]).ToArray();
        if (kept.Length == 0)
            return uniform;   // B = I
        var lambdas = kept.Select(k => values[k]).ToArray();   // descending
        double scale = ScaleMode switch
        {
            "median" => lambdas.OrderBy(x => x).ElementAt((lambdas.Length - 1) / 2),
            "rmse" => lambdas.Average(),
            _ => lambdas[^1],
        };

        var w = new double[n];
        foreach (int k in kept)
        {
            // √s·v_k λ_k^(−1/2) (v_kᵀ·1/T)
            double projection = 0;
            for (int i = 0; i < n; i++)
                projection += vectors[i, k] * uniform[i];
            double factor = Math.Sqrt(scale) / Math.Sqrt(values[k]) * projection;
            for (int i = 0; i < n; i++)
                w[i] += factor * vectors[i, k];
        }

        return w;
    }
}

/// <summary>Settings of <see cref="AlignedMtlAggregator"/> (configuration <c>loss:aligned_mtl</c>).</summary>
internal sealed class AlignedMtlOptions : GradientStrategyOptions
{
    /// <summary>min, median or rmse: the eigenvalue the balance transformation scales to. Default min (TorchJD).</summary>
    public string ScaleMode { get; set; } = "min";

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (ScaleMode is not ("min" or "median" or "rmse"))
            errors.Add(Message(nameof(ScaleMode), ScaleMode, "min, median or rmse"));
    }
}
