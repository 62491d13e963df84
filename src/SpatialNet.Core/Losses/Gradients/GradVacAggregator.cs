namespace SpatialNet.Losses;

/// <summary>
/// Gradient Vaccine (Wang, Tsvetkov, Firat and Cao, ICLR 2021), whole-model form, as TorchJD
/// v0.17's GradVacWeighting: for each task i and each other task j in a random order, with
/// φ = cos(g_i^PC, g_j) and its EMA target φ̂_ij: when φ &lt; φ̂_ij, g_i^PC += ‖g_i^PC‖(φ̂√(1−φ²) −
/// φ√(1−φ̂²))/(‖g_j‖√(1−φ̂²) + eps)·g_j; then φ̂_ij ← (1−β)φ̂_ij + βφ. All on the Gramian;
/// w = Σ_i C_i with g_i^PC = Σ_k C_ik g_k.
/// </summary>
/// <remarks>Stateful: φ̂ per ordered pair of task names (0 at first), checkpointed. Orders from <see cref="TaskOrders"/>.</remarks>
internal sealed class GradVacAggregator : GradientAggregator
{
    private readonly Dictionary<string, double> targets = new(StringComparer.Ordinal);

    /// <summary>Options <c>beta</c> (0.5), <c>eps</c> (1e-8) and <c>seed</c> (0).</summary>
    public GradVacAggregator(double beta = 0.5, double eps = 1e-8, int seed = 0)
    {
        Beta = Require(beta >= 0 && beta <= 1, beta, "gradvac", "beta", "in [0, 1]");
        Eps = Require(eps >= 0 && double.IsFinite(eps), eps, "gradvac", "eps", "a finite number >= 0");
        Seed = seed;
    }

    /// <summary>EMA rate of the targets.</summary>
    public double Beta { get; }

    /// <summary>Added to denominators.</summary>
    public double Eps { get; }

    /// <summary>Seed of the task orders.</summary>
    public int Seed { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        var g = step.Gramian;
        var orders = TaskOrders.Draw(Seed, step.Step, n);
        var c = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            c[i, i] = 1;
            var cg = new double[n];   // g_i^PC · g_k for every k
            for (int k = 0; k < n; k++)
                cg[k] = g[i, k];
            foreach (int j in orders[i])
            {
                double normI = 0;
                for (int k = 0; k < n; k++)
                    normI += cg[k] * c[i, k];
                normI = Math.Sqrt(Math.Max(normI, 0));
                double normJ = Math.Sqrt(Math.Max(g[j, j], 0));
                double phi = cg[j] / (normI * normJ + Eps);
                string key = step.Tasks[i] + "|" + step.Tasks[j];
                double target = targets.GetValueOrDefault(key);
                if (phi < target)
                {
                    double sinPhi = Math.Sqrt(Math.Max(1 - phi * phi, 0));
                    double sinTarget = Math.Sqrt(Math.Max(1 - target * target, 0));
                    double coefficient = normI * (target * sinPhi - phi * sinTarget) / (normJ * sinTarget + Eps);
                    c[i, j] += coefficient;
                    for (int k = 0; k < n; k++)
                        cg[k] += coefficient * g[j, k];
                }

                targets[key] = (1 - Beta) * target + Beta * phi;
            }
        }

        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < n; k++)
                w[k] += c[i, k];
        }

        return w;
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, double[]> SaveState() =>
        targets.ToDictionary(kv => "target:" + kv.Key, kv => new[] { kv.Value }, StringComparer.Ordinal);

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        targets.Clear();
        foreach (var (key, value) in state)
        {
            if (key.StartsWith("target:", StringComparison.Ordinal) && value.Length == 1)
                targets[key["target:".Length..]] = value[0];
        }
    }
}

/// <summary>Settings of <see cref="GradVacAggregator"/> (configuration <c>loss:gradvac</c>).</summary>
internal sealed class GradVacOptions : GradientStrategyOptions, ISeededComposerOptions
{
    /// <summary>EMA rate of the cosine targets, in [0, 1]. Default 0.5.</summary>
    public double Beta { get; set; } = 0.5;
    /// <summary>Added to denominators; ≥ 0. Default 1e-8.</summary>
    public double Eps { get; set; } = 1e-8;
    /// <summary>Seed of the random task orders.</summary>
    public int Seed { get; set; } = 0;

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!(Beta >= 0 && Beta <= 1))
            errors.Add(Message(nameof(Beta), Beta, "a number in [0, 1]"));
        NonNegative(errors, nameof(Eps), Eps);
    }

    private static void NonNegative(ICollection<string> errors, string option, double value)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            errors.Add(Message(option, value, "a finite number >= 0"));
    }
}
