namespace SpatialNet.Losses;

/// <summary>
/// CAGrad (Liu, Liu, Jin, Stone and Liu, "Conflict-Averse Gradient Descent for Multi-task
/// Learning", NeurIPS 2021, Algorithm 1), as TorchJD v0.17 on G̃ = GGᵀ/tr(GGᵀ):
/// w* = argmin_{w ∈ simplex} wᵀG̃(1/T) + φ·√(wᵀG̃w), φ = c·‖ḡ‖, ‖ḡ‖² = 1ᵀG̃1/T²;
/// weights 1/T + (φ/‖g_w*‖)·w*, or 0 when ‖g_w*‖ &lt; <c>norm_eps</c> (near the Pareto front).
/// <c>rescale</c> 1 divides the weights by 1 + c² and 2 by 1 + c (LibMTL's options; 0 is TorchJD's).
/// </summary>
/// <remarks>
/// The cone program is solved exactly: φ‖g_w‖ = min_{τ&gt;0} ½φ(‖g_w‖²/τ + τ), so for each τ the
/// problem is a simplex QP (<see cref="ActiveSetQp"/>) and the optimal τ is found by golden-section
/// search on log τ (the partial minimum is convex in τ); on the optimal support the KKT conditions
/// are then solved in closed form (w = p + s·q, s² = (1/α)/(φ² − qᵀG̃q)) to double precision.
/// </remarks>
internal sealed class CaGradAggregator : GradientAggregator
{
    /// <summary>Options <c>c</c> (0.5), <c>norm_eps</c> (1e-4) and <c>rescale</c> (0).</summary>
    public CaGradAggregator(double c = 0.5, double normEps = 1e-4, int rescale = 0)
    {
        C = Require(c >= 0 && double.IsFinite(c), c, "cagrad", "c", "a finite number >= 0");
        NormEps = Require(normEps >= 0 && double.IsFinite(normEps), normEps, "cagrad", "norm_eps", "a finite number >= 0");
        Rescale = (int)Require(rescale is 0 or 1 or 2, rescale, "cagrad", "rescale", "0, 1 or 2");
    }

    /// <summary>Radius of the ball around the mean gradient, relative to its norm.</summary>
    public double C { get; }

    /// <summary>Below this ‖g_w*‖ the update is zero.</summary>
    public double NormEps { get; }

    /// <summary>0: none; 1: ÷(1 + c²); 2: ÷(1 + c).</summary>
    public int Rescale { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        double trace = DenseMath.Trace(step.Gramian);
        var g = DenseMath.ScaleShift(step.Gramian, trace < NormEps ? 0 : 1 / trace);
        var mean = Enumerable.Repeat(1.0 / n, n).ToArray();
        var b = DenseMath.Multiply(g, mean);
        double phi = C * Math.Sqrt(Math.Max(DenseMath.Dot(mean, b), 0));
        var w = Solve(g, b, phi);
        double norm = Math.Sqrt(Math.Max(DenseMath.Quadratic(g, w), 0));
        if (!(norm >= NormEps))
            return new double[n];
        double divisor = Rescale switch { 1 => 1 + C * C, 2 => 1 + C, _ => 1 };
        return mean.Select((m, i) => (m + phi / norm * w[i]) / divisor).ToArray();
    }

    /// <summary>argmin over the simplex of bᵀw + φ√(wᵀGw).</summary>
    public static double[] Solve(double[,] g, double[] b, double phi)
    {
        int n = b.Length;
        if (phi == 0)
        {
            var vertex = new double[n];
            vertex[Enumerable.Range(0, n).MinBy(i => b[i])] = 1;
            return vertex;
        }

        double maxDiagonal = Enumerable.Range(0, n).Max(i => g[i, i]);
        if (!(maxDiagonal > 0))
            return Enumerable.Repeat(1.0 / n, n).ToArray();
        double Objective(double[] w) => DenseMath.Dot(b, w) + phi * Math.Sqrt(Math.Max(DenseMath.Quadratic(g, w), 0));
        double[] Inner(double tau) => ActiveSetQp.Solve(DenseMath.ScaleShift(g, phi / tau), b, simplex: true);
        double Partial(double logTau)
        {
            double tau = Math.Exp(logTau);
            var w = Inner(tau);
            return DenseMath.Dot(b, w) + 0.5 * phi * (DenseMath.Quadratic(g, w) / tau + tau);
        }

        // Golden-section search on log τ over [1e-12, 1]·√max diag (τ* = ‖g_w*‖ lies below the largest row norm).
        double hi = Math.Log(Math.Sqrt(maxDiagonal)), lo = hi + Math.Log(1e-12);
        double ratio = (Math.Sqrt(5) - 1) / 2;
        double x1 = hi - ratio * (hi - lo), x2 = lo + ratio * (hi - lo);
        double f1 = Partial(x1), f2 = Partial(x2);
        for (int i = 0; i < 200 && hi - lo > 1e-13; i++)
        {
            if (f1 <= f2)
            {
                hi = x2;
                x2 = x1;
                f2 = f1;
                x1 = hi - ratio * (hi - lo);
                f1 = Partial(x1);
            }
            else
            {
                lo = x1;
                x1 = x2;
                f1 = f2;
                x2 = lo + ratio * (hi - lo);
                f2 = Partial(x2);
            }
        }

        var best = Inner(Math.Exp(0.5 * (lo + hi)));
        double bound = Objective(best) + 1e-14 * Math.Abs(Objective(best));
        foreach (double threshold in new[] { 1e-9, 1e-6, 1e-3 })
        {
            var polished = Polish(g, b, phi, best, threshold);
            if (polished is not null && Objective(polished) <= bound)
                return polished;
        }

        return best;
    }

    // The KKT solution on the support {i : w_i > threshold·max w}, or null when it does not exist or is not optimal.
    private static double[]? Polish(double[,] g, double[] b, double phi, double[] w, double threshold)
    {
        int n = b.Length;
        double wmax = w.Max();
        var support = Enumerable.Range(0, n).Where(i => w[i] > threshold * wmax).ToArray();
        int s = support.Length;
        var gs = new double[s, s];
        for (int i = 0; i < s; i++)
        {
            for (int j = 0; j < s; j++)
                gs[i, j] = g[support[i], support[j]];
        }

        var ones = Enumerable.Repeat(1.0, s).ToArray();
        var bs = support.Select(i => b[i]).ToArray();
        double pivot = 1e-12 * Enumerable.Range(0, s).Max(i => gs[i, i]);
        var a1 = DenseMath.Solve(gs, ones, pivot);
        var ab = DenseMath.Solve(gs, bs, pivot);
        if (a1 is null || ab is null)
            return null;
        double alpha = a1.Sum(), beta = ab.Sum();
        if (!(alpha > 0))
            return null;
        var p = a1.Select(x => x / alpha).ToArray();
        var q = a1.Select((x, i) => x * beta / alpha - ab[i]).ToArray();
        double qgq = DenseMath.Quadratic(gs, q);
        if (!(phi * phi > qgq))
            return null;
        double scale = Math.Sqrt(1 / alpha / (phi * phi - qgq));
        var result = new double[n];
        for (int i = 0; i < s; i++)
        {
            result[support[i]] = p[i] + scale * q[i];
            if (result[support[i]] < 0)
                return null;
        }

        // Multipliers of the bounds outside the support must be ≥ 0.
        double r = Math.Sqrt(DenseMath.Quadratic(g, result));
        var gradient = DenseMath.Multiply(g, result).Select((x, i) => b[i] + phi * x / r).ToArray();
        double mu = support.Average(i => gradient[i]);
        double tolerance = 1e-12 * gradient.Select(Math.Abs).Max();
        return Enumerable.Range(0, n).Where(i => !support.Contains(i)).All(i => gradient[i] - mu >= -tolerance) ? result : null;
    }
}

/// <summary>Settings of <see cref="CaGradAggregator"/> (configuration <c>loss:cagrad</c>).</summary>
internal sealed class CaGradOptions : GradientStrategyOptions
{
    /// <summary>Radius of the ball around the mean gradient, relative to its norm; ≥ 0. Default 0.5.</summary>
    public double C { get; set; } = 0.5;
    /// <summary>Below this ‖g_w‖ the update is zero; ≥ 0. Default 1e-4 (TorchJD).</summary>
    public double NormEps { get; set; } = 1e-4;
    /// <summary>0: none (TorchJD); 1: ÷(1 + c²) (LibMTL's default); 2: ÷(1 + c).</summary>
    public int Rescale { get; set; } = 0;

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        NonNegative(errors, nameof(C), C);
        NonNegative(errors, nameof(NormEps), NormEps);
        if (Rescale is not (0 or 1 or 2))
            errors.Add(Message(nameof(Rescale), Rescale, "0, 1 or 2"));
    }

    private static void NonNegative(ICollection<string> errors, string option, double value)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            errors.Add(Message(option, value, "a finite number >= 0"));
    }
}
