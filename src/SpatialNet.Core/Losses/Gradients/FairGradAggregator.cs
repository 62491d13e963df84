namespace SpatialNet.Losses;

/// <summary>
/// FairGrad (Ban and Ji, "Fair Resource Allocation in Multi-Task Learning", ICML 2024), as TorchJD
/// v0.17: the weights w ≥ 0 solving GGᵀw = w^(−1/α) (α = 0: the uniform 1/T).
/// </summary>
/// <remarks>
/// The system is the stationarity condition of the strictly convex ½wᵀGGᵀw − Σ_i h(w_i),
/// h = log for α = 1 and w^(1−1/α)/(1−1/α) otherwise, so damped Newton from 1/T (TorchJD's start)
/// converges to its unique root; TorchJD's least-squares solve stops at its 1e-8 tolerances. A task
/// whose gradient is zero has no finite solution (its weight grows without bound while contributing
/// nothing); it gets weight 0 and the others are solved without it.
/// </remarks>
internal sealed class FairGradAggregator : GradientAggregator
{
    /// <summary>Option <c>alpha</c> (1.0).</summary>
    public FairGradAggregator(double alpha = 1.0)
    {
        Alpha = Require(alpha >= 0 && double.IsFinite(alpha), alpha, "fairgrad", "alpha", "a finite number >= 0");
    }

    /// <summary>The α of α-fairness.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        return Alpha == 0 ? Enumerable.Repeat(1.0 / n, n).ToArray() : Solve(step.Gramian, Alpha, 200);
    }

    /// <summary>The root w &gt; 0 of GGᵀw = w^(−1/α) over the tasks with a nonzero gradient (others 0).</summary>
    public static double[] Solve(double[,] gramian, double alpha, int maxIterations)
    {
        int total = gramian.GetLength(0);
        double maxDiagonal = Enumerable.Range(0, total).Select(i => gramian[i, i]).DefaultIfEmpty(0).Max();
        var active = Enumerable.Range(0, total).Where(i => gramian[i, i] > 1e-14 * maxDiagonal && gramian[i, i] > 0).ToArray();
        var result = new double[total];
        int n = active.Length;
        if (n == 0)
            return result;
        var g = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
                g[i, j] = gramian[active[i], active[j]];
        }

        double exponent = 1 / alpha;
        double[] Residual(double[] w)
        {
            var gw = DenseMath.Multiply(g, w);
            return w.Select((x, i) => gw[i] - Math.Pow(x, -exponent)).ToArray();
        }

        var w = Enumerable.Repeat(1.0 / total, n).ToArray();
        var residual = Residual(w);
        for (int iteration = 0; iteration < maxIterations; iteration++)
        {
            double size = DenseMath.Dot(residual, residual);
            if (size == 0)
                break;
            var hessian = DenseMath.ScaleShift(g, 1);
            for (int i = 0; i < n; i++)
                hessian[i, i] += exponent * Math.Pow(w[i], -exponent - 1);
            var direction = DenseMath.Solve(hessian, residual.Select(r => -r).ToArray());
            if (direction is null)
                break;
            // The Jacobian is positive definite, so the Newton step descends ‖F‖²: backtrack on it, staying inside w > 0.
            double t = 1;
            for (int i = 0; i < n; i++)
            {
                if (direction[i] < 0)
                    t = Math.Min(t, -0.99 * w[i] / direction[i]);
            }

            double[]? accepted = null, acceptedResidual = null;
            for (int k = 0; k < 60 && accepted is null; k++, t *= 0.5)
            {
                var next = w.Select((x, i) => x + t * direction[i]).ToArray();
                var r = Residual(next);
                if (DenseMath.Dot(r, r) < size)
                    (accepted, acceptedResidual) = (next, r);
            }

            if (accepted is null)
                break;   // no further decrease in double precision: converged
            (w, residual) = (accepted, acceptedResidual!);
        }

        for (int i = 0; i < n; i++)
            result[active[i]] = w[i];
        return result;
    }
}

/// <summary>Settings of <see cref="FairGradAggregator"/> (configuration <c>loss:fairgrad</c>).</summary>
internal sealed class FairGradOptions : GradientStrategyOptions
{
    /// <summary>The α of α-fairness; ≥ 0. Default 1.</summary>
    public double Alpha { get; set; } = 1.0;

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        NonNegative(errors, nameof(Alpha), Alpha);
    }

    private static void NonNegative(ICollection<string> errors, string option, double value)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            errors.Add(Message(option, value, "a finite number >= 0"));
    }
}
