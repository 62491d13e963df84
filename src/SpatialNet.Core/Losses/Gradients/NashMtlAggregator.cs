namespace SpatialNet.Losses;

/// <summary>
/// Nash-MTL (Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022), as TorchJD
/// v0.17's step: on G̃ = GGᵀ/‖GGᵀ‖_F the bargaining solution α &gt; 0 of G̃α = 1/α, recomputed every
/// <c>update_weights_every</c> calls (the previous α reused in between), then scaled down so that
/// ‖αᵀG‖ ≤ <c>max_norm</c> (0: no clipping). Stateful: the previous α and the call count.
/// </summary>
/// <remarks>
/// The reference approaches the same root by <c>optim_niter</c> convex sub-problems (ECOS) and stops at a
/// residual of 1e-3; here the root is solved exactly (Newton, <see cref="FairGradAggregator"/> with
/// α = 1), at most <c>optim_niter</c>·10 Newton steps.
/// </remarks>
internal sealed class NashMtlAggregator : GradientAggregator
{
    private readonly Dictionary<string, double> previous = new(StringComparer.Ordinal);
    private long calls;

    /// <summary>Options <c>max_norm</c> (1.0), <c>update_weights_every</c> (1) and <c>optim_niter</c> (20).</summary>
    public NashMtlAggregator(double maxNorm = 1.0, int updateWeightsEvery = 1, int optimNiter = 20)
    {
        MaxNorm = Require(maxNorm >= 0 && double.IsFinite(maxNorm), maxNorm, "nash_mtl", "max_norm", "a finite number >= 0");
        UpdateWeightsEvery = (int)Require(updateWeightsEvery > 0, updateWeightsEvery, "nash_mtl", "update_weights_every", "a whole number > 0");
        OptimNiter = (int)Require(optimNiter > 0, optimNiter, "nash_mtl", "optim_niter", "a whole number > 0");
    }

    /// <summary>Largest norm of the update (0: unlimited).</summary>
    public double MaxNorm { get; }

    /// <summary>α is recomputed on every this many calls.</summary>
    public int UpdateWeightsEvery { get; }

    /// <summary>Bounds the solver's work.</summary>
    public int OptimNiter { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        double[] alpha;
        if (calls % UpdateWeightsEvery == 0 || !step.Tasks.All(previous.ContainsKey))
        {
            double frobenius = 0;
            foreach (double x in step.Gramian)
                frobenius += x * x;
            frobenius = Math.Sqrt(frobenius);
            alpha = frobenius > 0
                ? FairGradAggregator.Solve(DenseMath.ScaleShift(step.Gramian, 1 / frobenius), 1.0, 10 * OptimNiter)
                : Enumerable.Repeat(1.0, n).ToArray();
            for (int i = 0; i < n; i++)
                previous[step.Tasks[i]] = alpha[i];
        }
        else
        {
            alpha = step.Tasks.Select(t => previous[t]).ToArray();
        }

        calls++;
        if (MaxNorm > 0)
        {
            double norm = Math.Sqrt(Math.Max(DenseMath.Quadratic(step.Gramian, alpha), 0));
            if (norm > MaxNorm)
                alpha = alpha.Select(a => a / norm * MaxNorm).ToArray();
        }

        return alpha;
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, double[]> SaveState()
    {
        var state = previous.ToDictionary(kv => "alpha:" + kv.Key, kv => new[] { kv.Value }, StringComparer.Ordinal);
        state["calls"] = [calls];
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        previous.Clear();
        foreach (var (key, value) in state)
        {
            if (key.StartsWith("alpha:", StringComparison.Ordinal) && value.Length == 1)
                previous[key["alpha:".Length..]] = value[0];
        }

        calls = state.TryGetValue("calls", out var c) && c.Length == 1 ? (long)c[0] : 0;
    }
}

/// <summary>Settings of <see cref="NashMtlAggregator"/> (configuration <c>loss:nash_mtl</c>).</summary>
internal sealed class NashMtlOptions : GradientStrategyOptions
{
    /// <summary>Largest norm of the update (0: unlimited); ≥ 0. Default 1.</summary>
    public double MaxNorm { get; set; } = 1.0;
    /// <summary>The weights are recomputed every this many steps; > 0. Default 1.</summary>
    public int UpdateWeightsEvery { get; set; } = 1;
    /// <summary>Bounds the solver's work; > 0. Default 20.</summary>
    public int OptimNiter { get; set; } = 20;

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        NonNegative(errors, nameof(MaxNorm), MaxNorm);
        if (UpdateWeightsEvery <= 0)
            errors.Add(Message(nameof(UpdateWeightsEvery), UpdateWeightsEvery, "a whole number > 0"));
        if (OptimNiter <= 0)
            errors.Add(Message(nameof(OptimNiter), OptimNiter, "a whole number > 0"));
    }

    private static void NonNegative(ICollection<string> errors, string option, double value)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            errors.Add(Message(option, value, "a finite number >= 0"));
    }
}
