using SpatialNet.Losses;
using FluentAssertions;
using Xunit;

namespace SpatialNet.Core.Tests.Losses.Gradients;

public class DenseMathTests
{
    private static double[,] RandomGramian(Random random, int n, int rank)
    {
        var j = new double[n][];
        for (int i = 0; i < n; i++)
            j[i] = Enumerable.Range(0, 7).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        for (int i = rank; i < n; i++)
            j[i] = j[i % Math.Max(rank, 1)].Select(x => rank == 0 ? 0 : 2 * x).ToArray();   // dependent rows
        var g = new double[n, n];
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
                g[a, b] = j[a].Zip(j[b], (x, y) => x * y).Sum();
        return g;
    }

    [Fact]
    public void SymmetricEigen_ReconstructsTheMatrixWithOrthonormalVectors()
    {
        var random = new Random(3);
        foreach (int n in new[] { 1, 2, 5, 9 })
        {
            var a = RandomGramian(random, n, n);
            var (values, v) = DenseMath.SymmetricEigen(a);
            values.Should().BeInAscendingOrder();
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double vtv = Enumerable.Range(0, n).Sum(k => v[k, i] * v[k, j]);
                    vtv.Should().BeApproximately(i == j ? 1 : 0, 1e-13);
                    double rebuilt = Enumerable.Range(0, n).Sum(k => v[i, k] * values[k] * v[j, k]);
                    rebuilt.Should().BeApproximately(a[i, j], 1e-12);
                }
            }
        }
    }

    [Fact]
    public void PseudoInverse_SatisfiesThePenroseConditions_OnARankDeficientGramian()
    {
        var a = RandomGramian(new Random(5), 5, 3);
        var p = DenseMath.PseudoInverse(a, DenseMath.Float64Epsilon);
        var apa = Product(Product(a, p), a);
        var pap = Product(Product(p, a), p);
        var ap = Product(a, p);
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                apa[i, j].Should().BeApproximately(a[i, j], 1e-10);
                pap[i, j].Should().BeApproximately(p[i, j], 1e-8);
                ap[i, j].Should().BeApproximately(ap[j, i], 1e-10);
            }
        }
    }

    private static double[,] Product(double[,] a, double[,] b)
    {
        int n = a.GetLength(0);
        var c = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int k = 0; k < n; k++)
                    c[i, j] += a[i, k] * b[k, j];
        return c;
    }

    // Brute force: every support S, solve the equality-constrained problem on S, keep the feasible minimum.
    private static double BruteForceMinimum(double[,] h, double[] c, bool simplex)
    {
        int n = c.Length;
        double best = simplex ? double.PositiveInfinity : 0;   // x = 0 is feasible without the simplex
        for (int mask = 1; mask < 1 << n; mask++)
        {
            var s = Enumerable.Range(0, n).Where(i => (mask >> i & 1) == 1).ToArray();
            int m = s.Length, size = simplex ? m + 1 : m;
            var k = new double[size, size];
            var r = new double[size];
            for (int a = 0; a < m; a++)
            {
                for (int b = 0; b < m; b++)
                    k[a, b] = h[s[a], s[b]];
                r[a] = -c[s[a]];
                if (simplex)
                {
                    k[a, m] = 1;
                    k[m, a] = 1;
                }
            }

            if (simplex)
                r[m] = 1;
            var z = DenseMath.Solve(k, r, 1e-12);
            if (z is null || z.Take(m).Any(v => v < -1e-12))
                continue;
            var x = new double[n];
            for (int a = 0; a < m; a++)
                x[s[a]] = z[a];
            best = Math.Min(best, Objective(h, c, x));
        }

        return best;
    }

    private static double Objective(double[,] h, double[] c, double[] x) => 0.5 * DenseMath.Quadratic(h, x) + DenseMath.Dot(c, x);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ActiveSetQp_ReachesTheBruteForceOptimum_OnRandomProblems(bool simplex)
    {
        var random = new Random(11);
        for (int trial = 0; trial < 200; trial++)
        {
            int n = 1 + trial % 6;
            var h = RandomGramian(random, n, n);
            for (int i = 0; i < n; i++)
                h[i, i] += 1e-3;
            var c = Enumerable.Range(0, n).Select(_ => random.NextDouble() * 4 - 2).ToArray();

            var x = ActiveSetQp.Solve(h, c, simplex);

            x.Should().OnlyContain(v => v >= 0);
            if (simplex)
                x.Sum().Should().BeApproximately(1, 1e-12);
            Objective(h, c, x).Should().BeApproximately(BruteForceMinimum(h, c, simplex), 1e-10, $"trial {trial}");
        }
    }

    [Fact]
    public void ActiveSetQp_HandlesASingularHessian()
    {
        // Two identical rows: H = [[1, 1], [1, 1]], c = (−1, −1): any x ≥ 0 with x1 + x2 = 1 is optimal (value −½).
        var x = ActiveSetQp.Solve(new double[,] { { 1, 1 }, { 1, 1 } }, [-1, -1], simplex: false);

        x.Should().OnlyContain(v => v >= 0 && double.IsFinite(v));
        (x[0] + x[1]).Should().BeApproximately(1, 1e-9);
    }
}
