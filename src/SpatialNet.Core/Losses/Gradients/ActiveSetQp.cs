namespace SpatialNet.Losses;

/// <summary>
/// Exact primal active-set solver (Nocedal and Wright, Numerical Optimization, Algorithm 16.3) for
/// the small convex quadratic programs of the gradient strategies:
/// min ½xᵀHx + cᵀx subject to x ≥ 0 and, optionally, Σx = 1 (the simplex), with H positive
/// semi-definite and at most a few dozen variables.
/// </summary>
/// <remarks>
/// Each iteration solves the equality-constrained problem on the free variables exactly (a KKT
/// system by Gaussian elimination); the loop ends when every multiplier of a fixed bound is ≥ 0,
/// so the result is the optimum to rounding. A singular H on the free set (identical or zero task
/// gradients) is lifted by 1e-13·max diag(H) on the diagonal, which changes the optimum's value by
/// that order at most.
/// </remarks>
internal static class ActiveSetQp
{
    /// <summary>Minimises ½xᵀHx + cᵀx over x ≥ 0 (and Σx = 1 when <paramref name="simplex"/>).</summary>
    public static double[] Solve(double[,] h, double[] c, bool simplex)
    {
        int n = c.Length;
        if (n == 0)
            return [];
        double scale = 0;
        for (int i = 0; i < n; i++)
            scale = Math.Max(scale, Math.Abs(h[i, i]));
        scale = Math.Max(scale, c.Select(Math.Abs).Max());
        if (scale == 0)
            return simplex ? Enumerable.Repeat(1.0 / n, n).ToArray() : new double[n];
        double lift = 1e-13 * Math.Max(scale, double.Epsilon);
        double tolerance = 1e-14 * scale;

        // Feasible start: the origin, or the simplex vertex with the smallest objective.
        var x = new double[n];
        var fixedAtZero = new bool[n];
        if (simplex)
        {
            int best = Enumerable.Range(0, n).MinBy(i => 0.5 * h[i, i] + c[i]);
            x[best] = 1;
            for (int i = 0; i < n; i++)
                fixedAtZero[i] = i != best;
        }
        else
        {
            Array.Fill(fixedAtZero, true);
        }

        for (int iteration = 0; iteration < 50 * (n + 10); iteration++)
        {
            var free = Enumerable.Range(0, n).Where(i => !fixedAtZero[i]).ToArray();
            var gradient = Gradient(h, c, x);
            var step = new double[n];
            double mu = 0;
            if (free.Length > 0)
            {
                var (p, m) = EqualityStep(h, gradient, free, simplex, lift);
                mu = m;
                for (int k = 0; k < free.Length; k++)
                    step[free[k]] = p[k];
            }
            else if (simplex)
            {
                break;   // unreachable: a simplex point has a free variable
            }

            double stepNorm = step.Select(Math.Abs).DefaultIfEmpty(0).Max();
            if (stepNorm == 0 || stepNorm <= 1e-12 * x.Select(Math.Abs).Max())
            {
                // Stationary on the working set: release the bound with the most negative multiplier.
                int release = -1;
                double most = -tolerance;
                for (int i = 0; i < n; i++)
                {
                    if (!fixedAtZero[i])
                        continue;
                    double multiplier = gradient[i] - (simplex ? mu : 0);
                    if (multiplier < most)
                    {
                        most = multiplier;
                        release = i;
                    }
                }

                if (release < 0)
                    return x;
                fixedAtZero[release] = false;
                continue;
            }

            // Longest step in [0, 1] that keeps the free variables ≥ 0; the blocking one becomes fixed.
            double alpha = 1;
            int blocking = -1;
            foreach (int i in free)
            {
                if (step[i] < 0)
                {
                    double limit = -x[i] / step[i];
                    if (limit < alpha)
                    {
                        alpha = limit;
                        blocking = i;
                    }
                }
            }

            for (int i = 0; i < n; i++)
                x[i] += alpha * step[i];
            if (blocking >= 0)
            {
                x[blocking] = 0;
                fixedAtZero[blocking] = true;
            }
        }

        return x;
    }

    private static double[] Gradient(double[,] h, double[] c, double[] x)
    {
        var g = DenseMath.Multiply(h, x);
        for (int i = 0; i < g.Length; i++)
            g[i] += c[i];
        return g;
    }

    // The step p on the free set minimising ½pᵀH p + gᵀp (with Σp = 0 on the simplex), and the multiplier μ of Σx = 1.
    private static (double[] Step, double Mu) EqualityStep(double[,] h, double[] gradient, int[] free, bool simplex, double lift)
    {
        int f = free.Length, size = simplex ? f + 1 : f;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            var kkt = new double[size, size];
            var rhs = new double[size];
            for (int a = 0; a < f; a++)
            {
                for (int b = 0; b < f; b++)
                    kkt[a, b] = h[free[a], free[b]];
                if (attempt == 1)
                    kkt[a, a] += lift;
                rhs[a] = -gradient[free[a]];
                if (simplex)
                {
                    kkt[a, f] = 1;
                    kkt[f, a] = 1;
                }
            }

            var solution = DenseMath.Solve(kkt, rhs, attempt == 0 ? lift * 1e-3 : 0);
            if (solution is not null && solution.All(double.IsFinite))
            {
                // KKT: H p + μ' 1 = −g → the multiplier of Σx = 1 for the objective's gradient is μ = −μ'.
                return (solution[..f], simplex ? -solution[f] : 0);
            }
        }

        return (new double[f], 0);
    }
}
