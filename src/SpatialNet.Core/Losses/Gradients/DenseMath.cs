namespace SpatialNet.Losses;

/// <summary>
/// Small dense linear algebra in double on the host, for the T × T Gramians of the gradient
/// strategies (T ≤ ~16): products, a linear solve, the symmetric eigen-decomposition (cyclic
/// Jacobi) and the pseudo-inverse built on it.
/// </summary>
internal static class DenseMath
{
    /// <summary>Machine epsilon of float32 (torch.finfo(torch.float32).eps).</summary>
    public const double Float32Epsilon = 1.1920928955078125e-7;

    /// <summary>Machine epsilon of float64.</summary>
    public const double Float64Epsilon = 2.220446049250313e-16;

    /// <summary>A·x.</summary>
    public static double[] Multiply(double[,] a, double[] x)
    {
        int n = a.GetLength(0), m = a.GetLength(1);
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = 0; j < m; j++)
                s += a[i, j] * x[j];
            y[i] = s;
        }

        return y;
    }

    /// <summary>xᵀ·y.</summary>
    public static double Dot(double[] x, double[] y)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++)
            s += x[i] * y[i];
        return s;
    }

    /// <summary>xᵀ·A·x.</summary>
    public static double Quadratic(double[,] a, double[] x) => Dot(x, Multiply(a, x));

    /// <summary>Σ_i A_ii.</summary>
    public static double Trace(double[,] a)
    {
        double s = 0;
        for (int i = 0; i < a.GetLength(0); i++)
            s += a[i, i];
        return s;
    }

    /// <summary>A copy of the square matrix A scaled by <paramref name="factor"/>, plus <paramref name="diagonal"/>·I.</summary>
    public static double[,] ScaleShift(double[,] a, double factor, double diagonal = 0)
    {
        int n = a.GetLength(0);
        var b = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
                b[i, j] = a[i, j] * factor;
            b[i, i] += diagonal;
        }

        return b;
    }

    /// <summary>
    /// Solves A·x = b by Gaussian elimination with partial pivoting; null when a pivot is below
    /// <paramref name="pivotTolerance"/> (numerically singular).
    /// </summary>
    public static double[]? Solve(double[,] a, double[] b, double pivotTolerance = 0)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (int k = 0; k < n; k++)
        {
            int p = k;
            for (int i = k + 1; i < n; i++)
            {
                if (Math.Abs(m[i, k]) > Math.Abs(m[p, k]))
                    p = i;
            }

            if (!(Math.Abs(m[p, k]) > pivotTolerance))
                return null;
            if (p != k)
            {
                for (int j = 0; j < n; j++)
                    (m[k, j], m[p, j]) = (m[p, j], m[k, j]);
                (x[k], x[p]) = (x[p], x[k]);
            }

            for (int i = k + 1; i < n; i++)
            {
                double f = m[i, k] / m[k, k];
                if (f == 0)
                    continue;
                for (int j = k; j < n; j++)
                    m[i, j] -= f * m[k, j];
                x[i] -= f * x[k];
            }
        }

        for (int i = n - 1; i >= 0; i--)
        {
            double s = x[i];
            for (int j = i + 1; j < n; j++)
                s -= m[i, j] * x[j];
            x[i] = s / m[i, i];
        }

        return x;
    }

    /// <summary>
    /// Eigen-decomposition of the symmetric matrix A = V·diag(λ)·Vᵀ by cyclic Jacobi rotations
    /// (Golub and Van Loan, Algorithm 8.5.3), to double precision. Columns of V are the eigenvectors;
    /// the eigenvalues are in ascending order.
    /// </summary>
    public static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] a)
    {
        int n = a.GetLength(0);
        var m = (double[,])a.Clone();
        var v = new double[n, n];
        for (int i = 0; i < n; i++)
            v[i, i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, scale = 0;
            for (int i = 0; i < n; i++)
            {
                scale += m[i, i] * m[i, i];
                for (int j = i + 1; j < n; j++)
                    off += m[i, j] * m[i, j];
            }

            if (off <= 1e-32 * scale || off == 0)
                break;
            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    if (m[p, q] == 0)
                        continue;
                    double theta = (m[q, q] - m[p, p]) / (2 * m[p, q]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double mkp = m[k, p], mkq = m[k, q];
                        m[k, p] = c * mkp - s * mkq;
                        m[k, q] = s * mkp + c * mkq;
                    }

                    for (int k = 0; k < n; k++)
                    {
                        double mpk = m[p, k], mqk = m[q, k];
                        m[p, k] = c * mpk - s * mqk;
                        m[q, k] = s * mpk + c * mqk;
                    }

                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
            }
        }

        var order = Enumerable.Range(0, n).OrderBy(i => m[i, i]).ToArray();
        var values = order.Select(i => m[i, i]).ToArray();
        var vectors = new double[n, n];
        for (int k = 0; k < n; k++)
        {
            for (int i = 0; i < n; i++)
                vectors[i, k] = v[i, order[k]];
        }

        return (values, vectors);
    }

    /// <summary>
    /// Moore–Penrose pseudo-inverse of the symmetric positive semi-definite A: eigenvalues at most
    /// n·ε·λ_max are treated as zero (the cut-off of torch.linalg.pinv, ε of the data's precision).
    /// </summary>
    public static double[,] PseudoInverse(double[,] a, double epsilon)
    {
        int n = a.GetLength(0);
        var (values, vectors) = SymmetricEigen(a);
        double max = values.Select(Math.Abs).DefaultIfEmpty(0).Max();
        double cutoff = n * epsilon * max;
        var p = new double[n, n];
        for (int k = 0; k < n; k++)
        {
            if (!(Math.Abs(values[k]) > cutoff))
                continue;
            double inv = 1 / values[k];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                    p[i, j] += vectors[i, k] * inv * vectors[j, k];
            }
        }

        return p;
    }
}
