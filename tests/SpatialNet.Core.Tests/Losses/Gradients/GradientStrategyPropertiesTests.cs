using FluentAssertions;
using SpatialNet.Losses;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses.Gradients;

/// <summary>
/// Exactness by hand derivations and defining identities (KKT conditions, equal projections), and
/// the degenerate inputs every strategy must survive with a finite update.
/// </summary>
public class GradientStrategyPropertiesTests
{
    private static readonly double[,] GBase = { { 18, -22 }, { -22, 38 } };

    public static TheoryData<string> Names() => new(
        "upgrad", "dualproj", "mgda", "imtl_g", "cagrad", "aligned_mtl", "con_fig", "pcgrad", "gradvac", "fairgrad", "nash_mtl", "excess_mtl", "graddrop", "moco", "db_mtl");

    private static double[,] RandomGramian(Random random, int n, int p = 9)
    {
        var j = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, p).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
        var g = new double[n, n];
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
                g[a, b] = j[a].Zip(j[b], (x, y) => x * y).Sum();
        return g;
    }

    [Fact]
    public void Mgda_TwoTasks_IsTheClosedFormMinNormPoint()
    {
        // α₁ = (G₂₂ − G₁₂)/(G₁₁ + G₂₂ − 2G₁₂) = 60/100 (Sener and Koltun, Algorithm 1).
        var w = new MgdaAggregator().Weights(GradientStep.Of(GBase));

        w[0].Should().BeApproximately(0.6, 1e-15);
        w[1].Should().BeApproximately(0.4, 1e-15);
    }

    [Fact]
    public void DualProj_OnGBase_IsTheHandSolvedProjection()
    {
        // G̃ = G/56 + 1e-4·I; u = (½, ½): (G̃u)₁ < 0 so v₁ rises with v₂ = ½ held: v₁ = ½·(22/56)/(18/56 + 1e-4) = 11/18.0056.
        var w = new DualProjAggregator().Weights(GradientStep.Of(GBase));

        w[0].Should().BeApproximately(11 / 18.0056, 1e-14);
        w[1].Should().BeApproximately(0.5, 1e-14);
    }

    [Fact]
    public void UPGrad_EachProjectionSatisfiesTheKktConditions()
    {
        // v_i = argmin vᵀG̃v s.t. v ≥ u_i ⇔ G̃v ≥ 0, v ≥ u_i and (G̃v)_k·(v_k − u_k) = 0. UPGrad's w is Σ_i v_i; check each v_i.
        var random = new Random(21);
        for (int trial = 0; trial < 30; trial++)
        {
            int n = 2 + trial % 5;
            var g = DualCone.Prepare(RandomGramian(random, n, p: 3 + trial % 4), 1e-4, 1e-4);
            for (int i = 0; i < n; i++)
            {
                var u = new double[n];
                u[i] = 1.0 / n;
                var v = DualCone.ProjectWeights(g, u);
                var gv = DenseMath.Multiply(g, v);
                for (int k = 0; k < n; k++)
                {
                    gv[k].Should().BeGreaterThanOrEqualTo(-1e-13);
                    v[k].Should().BeGreaterThanOrEqualTo(u[k] - 1e-15);
                    (gv[k] * (v[k] - u[k])).Should().BeApproximately(0, 1e-13);
                }
            }
        }
    }

    [Fact]
    public void CaGrad_SubproblemSatisfiesTheKktConditions()
    {
        // min_{w ∈ simplex} bᵀw + φ‖g_w‖: ∇ = b + φGw/‖g_w‖ equals μ on the support and is ≥ μ elsewhere.
        var random = new Random(8);
        for (int trial = 0; trial < 40; trial++)
        {
            int n = 2 + trial % 5;
            var g = RandomGramian(random, n);
            var b = DenseMath.Multiply(g, Enumerable.Repeat(1.0 / n, n).ToArray());
            double phi = 0.5 * Math.Sqrt(DenseMath.Dot(Enumerable.Repeat(1.0 / n, n).ToArray(), b));

            var w = CaGradAggregator.Solve(g, b, phi);

            w.Sum().Should().BeApproximately(1, 1e-12);
            double r = Math.Sqrt(DenseMath.Quadratic(g, w));
            var gradient = DenseMath.Multiply(g, w).Select((x, i) => b[i] + phi * x / r).ToArray();
            var support = Enumerable.Range(0, n).Where(i => w[i] > 1e-9).ToArray();
            double mu = gradient[support[0]];
            foreach (int i in support)
                gradient[i].Should().BeApproximately(mu, 1e-12, $"trial {trial}");
            foreach (int i in Enumerable.Range(0, n).Except(support))
                gradient[i].Should().BeGreaterThanOrEqualTo(mu - 1e-9, $"trial {trial}");
        }
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(2.0)]
    public void FairGrad_SolvesItsFixedPointEquation(double alpha)
    {
        var random = new Random(4);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = 2 + trial % 5;
            var g = RandomGramian(random, n);

            var w = new FairGradAggregator(alpha).Weights(GradientStep.Of(g));

            var gw = DenseMath.Multiply(g, w);
            for (int i = 0; i < n; i++)
            {
                w[i].Should().BePositive();
                gw[i].Should().BeApproximately(Math.Pow(w[i], -1 / alpha), 1e-10 * Math.Abs(gw[i]) + 1e-12);
            }
        }
    }

    [Fact]
    public void ImtlG_UpdateHasEqualProjectionsOnEveryTaskDirection()
    {
        // IMTL-G's defining property (Liu et al. 2021): g·g_i/‖g_i‖ is the same for all i.
        var g = RandomGramian(new Random(6), 4);

        var w = new ImtlGAggregator().Weights(GradientStep.Of(g));

        var projections = DenseMath.Multiply(g, w).Select((x, i) => x / Math.Sqrt(g[i, i])).ToArray();
        projections.Should().AllSatisfy(p => p.Should().BeApproximately(projections[0], 1e-10));
        w.Sum().Should().BeApproximately(1, 1e-12);
    }

    [Fact]
    public void ConFig_DirectionHasEqualCosinesWithEveryTask()
    {
        // ConFIG (Liu et al. 2024, Eq. 2): the update direction makes the same angle with every gradient.
        var g = RandomGramian(new Random(7), 3);

        var w = new ConFigAggregator().Weights(GradientStep.Of(g));

        var cosines = DenseMath.Multiply(g, w).Select((x, i) => x / Math.Sqrt(g[i, i])).ToArray();
        cosines.Should().AllSatisfy(c => c.Should().BeApproximately(cosines[0], 1e-10));
    }

    // ---- Degenerate inputs, through the whole backward path in float64 ----

    private static double[] Update(string name, double[][] rows, string[]? present = null, IReadOnlyDictionary<string, double>? lossWeights = null)
    {
        using var scope = NewDisposeScope();
        using var theta = new Parameter(zeros(rows[0].Length, dtype: ScalarType.Float64));
        var names = present ?? rows.Select((_, i) => $"t{i}").ToArray();
        // L_t = g_t·θ + 10: gradient g_t, a positive loss (MoCo and DB-MTL scale by it).
        var losses = names.ToDictionary(t => t, t => (theta * tensor(rows[int.Parse(t[1..], System.Globalization.CultureInfo.InvariantCulture)], dtype: ScalarType.Float64)).sum() + 10);
        var composer = new GradientComposer(name, TorchJDValuesTests.Create(name), lossWeights);
        var loss = composer.Compose(losses, new LossContext { SharedParameters = [theta] });
        loss.Backward();
        loss.Weights.Values.Should().OnlyContain(w => double.IsFinite(w), name);
        return theta.grad!.data<double>().ToArray();
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ZeroTaskGradient_GivesAFiniteUpdate(string name)
    {
        var update = Update(name, [[1, 2, 0], [0, 0, 0], [-1, 1, 1]]);

        update.Should().OnlyContain(x => double.IsFinite(x), name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void TwoIdenticalTasks_GiveAnUpdateAlongTheirGradient(string name)
    {
        var update = Update(name, [[1, 2, -1], [1, 2, -1]]);

        update.Should().OnlyContain(x => double.IsFinite(x), name);
        // Parallel to (1, 2, −1): the cross components vanish.
        (update[1] - 2 * update[0]).Should().BeApproximately(0, 1e-9, name);
        (update[2] + update[0]).Should().BeApproximately(0, 1e-9, name);
        update[0].Should().BeGreaterThanOrEqualTo(0, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void OneTask_GivesAPositiveMultipleOfItsGradient(string name)
    {
        var update = Update(name, [[3, -1, 2]]);

        update.Should().OnlyContain(x => double.IsFinite(x), name);
        (update[1] + update[0] / 3).Should().BeApproximately(0, 1e-12, name);
        (update[2] - 2 * update[0] / 3).Should().BeApproximately(0, 1e-12, name);
        update[0].Should().BePositive(name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void OnlySomeTasksPresent_TheStrategySeesThoseAlone(string name)
    {
        // Tasks t0..t2 exist; this batch carries t0 and t2. The update equals the one on the two-row problem.
        double[][] rows = [[-4, 1, 1], [100, 100, 100], [6, 1, 1]];
        var partial = Update(name, rows, ["t0", "t2"]);
        var alone = Update(name, [[-4, 1, 1], [6, 1, 1]]);

        partial.Should().Equal(alone, (a, b) => Math.Abs(a - b) <= 1e-12, name);
    }

    [Fact]
    public void TaskWeightsScaleEachGradientBeforeTheStrategy()
    {
        // λ = (2, 1) on J_base rows: MGDA sees g₁ = (−8, 2, 2), g₂ = (6, 1, 1): G = [[72, −44], [−44, 38]];
        // α₁ = (38 + 44)/(72 + 38 + 88) = 82/198; reported weight of t0 = α₁·λ₁.
        using var scope = NewDisposeScope();
        using var theta = new Parameter(zeros(3, dtype: ScalarType.Float64));
        var losses = new Dictionary<string, Tensor>
        {
            ["t0"] = (theta * tensor(new double[] { -4, 1, 1 }, dtype: ScalarType.Float64)).sum(),
            ["t1"] = (theta * tensor(new double[] { 6, 1, 1 }, dtype: ScalarType.Float64)).sum(),
        };
        var loss = new GradientComposer("mgda", new MgdaAggregator(), new Dictionary<string, double> { ["t0"] = 2 })
            .Compose(losses, new LossContext { SharedParameters = [theta] });

        loss.Backward();

        // Frank–Wolfe from (½, ½) reaches the two-task optimum in one step.
        loss.Weights["t0"].Should().BeApproximately(82.0 / 198 * 2, 1e-14);
        loss.Weights["t1"].Should().BeApproximately(116.0 / 198, 1e-14);
    }
}
