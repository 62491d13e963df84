namespace SpatialNet.Losses;

/// <summary>
/// MGDA (Désidéri 2012; Sener and Koltun, NeurIPS 2018, Algorithm 2), as TorchJD v0.17: the
/// min-norm point of the convex hull of the task gradients by Frank–Wolfe on the Gramian from the
/// uniform point, stopping when the step γ &lt; <c>epsilon</c> or after <c>max_iters</c>.
/// </summary>
/// <remarks>
/// <c>gradient_normalization</c> (LibMTL's <c>mgda_gn</c>): the hull is taken over g_t/n_t with
/// n_t = 1 (<c>none</c>), ‖g_t‖ (<c>l2</c>), L_t (<c>loss</c>) or L_t·‖g_t‖ (<c>loss+</c>); the
/// update is Σ α_t g_t/n_t, so the weights are α_t/n_t. A task with n_t = 0 (a zero gradient under
/// <c>l2</c>) contributes nothing and gets weight 0, where LibMTL divides by zero.
/// </remarks>
internal sealed class MgdaAggregator : GradientAggregator
{
    private static readonly string[] Normalizations = ["none", "l2", "loss", "loss+"];

    /// <summary>Options <c>epsilon</c> (1e-3), <c>max_iters</c> (100) and <c>gradient_normalization</c> (none).</summary>
    public MgdaAggregator(double epsilon = 1e-3, int maxIters = 100, string gradientNormalization = "none")
    {
        Epsilon = Require(epsilon > 0 && double.IsFinite(epsilon), epsilon, "mgda", "epsilon", "a finite number > 0");
        MaxIters = (int)Require(maxIters > 0, maxIters, "mgda", "max_iters", "a whole number > 0");
        ArgumentNullException.ThrowIfNull(gradientNormalization);
        if (!Normalizations.Contains(gradientNormalization, StringComparer.Ordinal))
        {
            throw new ArgumentOutOfRangeException(nameof(gradientNormalization), gradientNormalization,
                $"loss:mgda:gradient_normalization must be one of {string.Join(", ", Normalizations)}; got '{gradientNormalization}'.");
        }

        GradientNormalization = gradientNormalization;
    }

    /// <summary>Frank–Wolfe stops when its step is below this.</summary>
    public double Epsilon { get; }

    /// <summary>Most Frank–Wolfe iterations.</summary>
    public int MaxIters { get; }

    /// <summary>none, l2, loss or loss+.</summary>
    public string GradientNormalization { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        var scale = new double[n];
        for (int i = 0; i < n; i++)
        {
            double norm = Math.Sqrt(Math.Max(step.Gramian[i, i], 0));
            double divisor = GradientNormalization switch
            {
                "l2" => norm,
                "loss" => step.Losses[i],
                "loss+" => step.Losses[i] * norm,
                _ => 1,
            };
            scale[i] = divisor > 0 && double.IsFinite(divisor) ? 1 / divisor : 0;
        }

        var g = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
                g[i, j] = step.Gramian[i, j] * scale[i] * scale[j];
        }

        var alpha = FrankWolfe(g, Epsilon, MaxIters);
        return alpha.Select((a, i) => a * scale[i]).ToArray();
    }

    /// <summary>Sener and Koltun's Algorithm 2 on the Gramian <paramref name="g"/> (TorchJD's stopping rule).</summary>
    public static double[] FrankWolfe(double[,] g, double epsilon, int maxIters)
    {
        int n = g.GetLength(0);
        var alpha = Enumerable.Repeat(1.0 / n, n).ToArray();
        for (int iteration = 0; iteration < maxIters; iteration++)
        {
            var ga = DenseMath.Multiply(g, alpha);
            int t = 0;
            for (int i = 1; i < n; i++)
            {
                if (ga[i] < ga[t])
                    t = i;
            }

            double a = ga[t];                     // αᵀ G e_t
            double b = DenseMath.Dot(alpha, ga);  // αᵀ G α
            double c = g[t, t];                   // e_tᵀ G e_t
            double gamma = c <= a ? 1 : b <= a ? 0 : (b - a) / (b + c - 2 * a);
            for (int i = 0; i < n; i++)
                alpha[i] *= 1 - gamma;
            alpha[t] += gamma;
            if (gamma < epsilon)
                break;
        }

        return alpha;
    }
}

/// <summary>Settings of <see cref="MgdaAggregator"/> (configuration <c>loss:mgda</c>).</summary>
internal sealed class MgdaOptions : GradientStrategyOptions
{
    /// <summary>Frank–Wolfe stops when its step is below this; > 0. Default 1e-3 (TorchJD).</summary>
    public double Epsilon { get; set; } = 1e-3;
    /// <summary>Most Frank–Wolfe iterations; > 0. Default 100 (TorchJD).</summary>
    public int MaxIters { get; set; } = 100;
    /// <summary>none, l2, loss or loss+ (LibMTL's mgda_gn). Default none.</summary>
    public string GradientNormalization { get; set; } = "none";

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!(Epsilon > 0) || !double.IsFinite(Epsilon))
            errors.Add(Message(nameof(Epsilon), Epsilon, "a finite number > 0"));
        if (MaxIters <= 0)
            errors.Add(Message(nameof(MaxIters), MaxIters, "a whole number > 0"));
        if (GradientNormalization is not ("none" or "l2" or "loss" or "loss+"))
            errors.Add(Message(nameof(GradientNormalization), GradientNormalization, "none, l2, loss or loss+"));
    }
}
