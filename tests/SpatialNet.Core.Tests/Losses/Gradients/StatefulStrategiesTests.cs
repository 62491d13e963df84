using FluentAssertions;
using SpatialNet.Losses;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses.Gradients;

/// <summary>Strategies that read the gradients themselves or keep state: published values, hand derivations, exact resume.</summary>
public class StatefulStrategiesTests
{
    private static (double[] Update, double[] Weights) Step(GradientAggregator aggregator, double[][] rows, long step = 0)
    {
        using var scope = NewDisposeScope();
        var j = stack(rows.Select(r => tensor(r, dtype: ScalarType.Float64)).ToArray());
        var g = matmul(j, j.t());
        int n = rows.Length;
        var gram = new double[n, n];
        var flat = g.data<double>().ToArray();
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
                gram[a, b] = flat[a * n + b];
        var info = new GradientStep { Tasks = Enumerable.Range(0, n).Select(i => $"t{i}").ToArray(), Gramian = gram, Losses = new double[n], Step = step };
        var update = aggregator.Update(j, info, out var weights);
        return (update.data<double>().ToArray(), weights);
    }

    [Fact]
    public void ExcessMtl_TwoConsecutiveSteps_AreTorchJDs()
    {
        // TorchJD tests/unit/aggregation/test_excess_mtl.py, test_two_consecutive_steps (atol 1e-6).
        var excess = new ExcessMtlAggregator(robustStepSize: 1.0, nWarmupSteps: 0);

        var (_, first) = Step(excess, [[2, 0], [1, 0]]);
        var (_, second) = Step(excess, [[1, 0], [2, 0]]);

        first[0].Should().BeApproximately(0.7310585786300049, 1e-6);
        first[1].Should().BeApproximately(0.2689414213699951, 1e-6);
        second[0].Should().BeApproximately(0.36233414155522425, 1e-6);
        second[1].Should().BeApproximately(0.6376658584447756, 1e-6);
    }

    [Fact]
    public void ExcessMtl_WarmupBaselineIsTheAverage_TorchJDsValue()
    {
        // test_warmup_baseline_is_average: two warm-up calls, then J1 again.
        var excess = new ExcessMtlAggregator(robustStepSize: 1.0, nWarmupSteps: 2);

        Step(excess, [[2, 0], [1, 0]]).Weights.Should().Equal(0.5, 0.5);
        Step(excess, [[1, 0], [2, 0]]).Weights.Should().Equal(0.5, 0.5);
        var (_, third) = Step(excess, [[2, 0], [1, 0]]);

        third[0].Should().BeApproximately(0.6893116740112976, 1e-12);
        third[1].Should().BeApproximately(0.3106883259887024, 1e-12);
    }

    [Fact]
    public void ExcessMtl_LargeExcessRisks_GiveFiniteWeights()
    {
        // First call without warm-up: e ≈ (1000, 1); e^1000 overflows in the reference (NaN weights);
        // the log-space step gives the limit (1, e^−999 ≈ 0).
        var (update, weights) = Step(new ExcessMtlAggregator(), [[1000, 0], [1, 0]]);

        weights[0].Should().BeApproximately(1, 1e-12);
        weights[1].Should().BeApproximately(0, 1e-12);
        update.Should().OnlyContain(x => double.IsFinite(x));
    }

    [Fact]
    public void GradDrop_KeepsAgreeingElements_AndPicksOneSignWhereTasksConflict()
    {
        // Element 0: both positive (P = 1 > U): both kept. Element 1: both negative (P = 0 < U): both kept.
        // Element 2: +3 and −1: P = ½(1 + 2/4) = 0.75; positive kept when U < 0.75, else the negative one.
        double[][] rows = [[1, -2, 3], [2, -1, -1]];
        var graddrop = new GradDropAggregator(seed: 5);
        foreach (long step in new long[] { 0, 1, 2, 3, 4, 5 })
        {
            var (update, _) = Step(graddrop, rows, step);
            double u = graddrop.Draws(step, 3, ScalarType.Float64, CPU)[2].item<double>();

            update[0].Should().Be(3);
            update[1].Should().Be(-3);
            update[2].Should().Be(u < 0.75 ? 3 : -1, $"step {step}, U = {u}");
        }
    }

    [Fact]
    public void GradDrop_WithLeak_PassesThatShareOfWhatItDrops()
    {
        double[][] rows = [[3], [-1]];   // P = 0.75
        var graddrop = new GradDropAggregator(leak: 0.25, seed: 2);
        var (update, _) = Step(graddrop, rows, 0);
        double u = graddrop.Draws(0, 1, ScalarType.Float64, CPU)[0].item<double>();

        update[0].Should().BeApproximately(u < 0.75 ? 3 - 0.25 : 0.75 - 1, 1e-15);
    }

    public static TheoryData<string> Stateful() => new("gradvac", "nash_mtl");

    private static GradientAggregator Create(string name) => name switch
    {
        "gradvac" => new GradVacAggregator(beta: 0.3, seed: 4),
        "nash_mtl" => new NashMtlAggregator(maxNorm: 0, updateWeightsEvery: 3),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Stateful))]
    public void Resume_RestoresTheStateExactly(string name)
    {
        // Six steps of three gradients drifting apart: g₁ = (1, 0, 0), g₂, g₃ at angles ±θ_k with θ_k growing, plus noise,
        // so cosines fall below their running targets; state saved after three steps and restored into a fresh instance.
        var random = new Random(9);
        var gramians = Enumerable.Range(0, 6).Select(k =>
        {
            double theta = 0.3 + 0.25 * k;
            double[][] j =
            [
                [1, 0, 0.1 * random.NextDouble()],
                [Math.Cos(theta), Math.Sin(theta), 0.1 * random.NextDouble()],
                [Math.Cos(theta), -Math.Sin(theta), 0.1 * random.NextDouble()],
            ];
            var g = new double[3, 3];
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    g[a, b] = j[a].Zip(j[b], (x, y) => x * y).Sum();
            return g;
        }).ToArray();

        var straight = Create(name);
        var expected = gramians.Select((g, k) => straight.Weights(GradientStep.Of(g, step: k))).ToArray();

        var first = Create(name);
        for (int k = 0; k < 3; k++)
            first.Weights(GradientStep.Of(gramians[k], step: k));
        var state = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, double[]>>(System.Text.Json.JsonSerializer.Serialize(first.SaveState()))!;
        var resumed = Create(name);
        resumed.LoadState(state);

        for (int k = 3; k < 6; k++)
            resumed.Weights(GradientStep.Of(gramians[k], step: k)).Should().Equal(expected[k], $"{name}, step {k}");
        expected[4].Should().NotEqual(Create(name).Weights(GradientStep.Of(gramians[4], step: 4)), "the state matters");
    }

    [Fact]
    public void PCGrad_InFloat64_IsExactToDoublePrecision()
    {
        // The update of J_base in float64 against the closed form: g₁·g₂ = −22 < 0, so
        // g₁' = g₁ + 22/38·g₂ and g₂' = g₂ + 22/18·g₁; sum = (1 + 22/18)g₁ + (1 + 22/38)g₂.
        using var scope = NewDisposeScope();
        using var theta = new Parameter(zeros(3, dtype: ScalarType.Float64));
        var losses = new Dictionary<string, Tensor>
        {
            ["a"] = (theta * tensor(new double[] { -4, 1, 1 }, dtype: ScalarType.Float64)).sum(),
            ["b"] = (theta * tensor(new double[] { 6, 1, 1 }, dtype: ScalarType.Float64)).sum(),
        };

        new PCGrad().Compose(losses, new LossContext { SharedParameters = [theta] }).Backward();

        double c1 = 1 + 22.0 / 18, c2 = 1 + 22.0 / 38;
        var update = theta.grad!.data<double>().ToArray();
        update[0].Should().BeApproximately(-4 * c1 + 6 * c2, 1e-14);
        update[1].Should().BeApproximately(c1 + c2, 1e-14);
    }

    private static (double[] Update, double[] Weights) StepWithLosses(GradientAggregator aggregator, double[][] rows, double[] losses, long step)
    {
        using var scope = NewDisposeScope();
        var j = stack(rows.Select(r => tensor(r, dtype: ScalarType.Float64)).ToArray());
        var info = new GradientStep { Tasks = Enumerable.Range(0, rows.Length).Select(i => $"t{i}").ToArray(), Gramian = new double[rows.Length, rows.Length], Losses = losses, Step = step };
        var update = aggregator.Update(j, info, out var weights);
        return (update.data<double>().ToArray(), weights);
    }

    [Fact]
    public void Moco_TwoSteps_FollowLibMtlsRecursion_ByHand()
    {
        // g₁ = (3, 4), g₂ = (0, −2), L = (2, 1): ĝ = g/(‖g‖ + 1e-8)·L ≈ (1.2, 1.6), (0, −1).
        // Step 1 (k = 1): y = ½ĝ; λ = softmax(½ − 0.1·YYᵀ·½). Step 2 (k = 2): β₂ = 0.5/√2, γ₂ = 0.1/√2.
        double[] h0 = [3 * 2 / (5 + 1e-8), 4 * 2 / (5 + 1e-8)], h1 = [0, -2 / (2 + 1e-8)];
        static double Softmax0(double a, double b) => Math.Exp(a) / (Math.Exp(a) + Math.Exp(b));
        var moco = new MocoAggregator();

        var (update, lambda) = StepWithLosses(moco, [[3, 4], [0, -2]], [2, 1], 0);

        double[] y0 = [0.5 * h0[0], 0.5 * h0[1]], y1 = [0, 0.5 * h1[1]];
        double g00 = y0[0] * y0[0] + y0[1] * y0[1], g01 = y0[1] * y1[1], g11 = y1[1] * y1[1];
        double l0 = Softmax0(0.5 - 0.1 * (g00 + g01) * 0.5, 0.5 - 0.1 * (g01 + g11) * 0.5);
        lambda[0].Should().BeApproximately(l0, 1e-12);
        update[0].Should().BeApproximately(l0 * y0[0], 1e-12);
        update[1].Should().BeApproximately(l0 * y0[1] + (1 - l0) * y1[1], 1e-12);

        var (update2, lambda2) = StepWithLosses(moco, [[3, 4], [0, -2]], [2, 1], 1);

        double beta2 = 0.5 / Math.Sqrt(2), gamma2 = 0.1 / Math.Sqrt(2);
        y0 = [y0[0] - beta2 * (y0[0] - h0[0]), y0[1] - beta2 * (y0[1] - h0[1])];
        y1 = [0, y1[1] - beta2 * (y1[1] - h1[1])];
        g00 = y0[0] * y0[0] + y0[1] * y0[1];
        g01 = y0[1] * y1[1];
        g11 = y1[1] * y1[1];
        double m0 = Softmax0(l0 - gamma2 * (g00 * l0 + g01 * (1 - l0)), (1 - l0) - gamma2 * (g01 * l0 + g11 * (1 - l0)));
        lambda2[0].Should().BeApproximately(m0, 1e-12);
        update2[1].Should().BeApproximately(m0 * y0[1] + (1 - m0) * y1[1], 1e-12);
    }

    [Fact]
    public void DbMtl_FirstStep_BalancesTheLogLossGradientsToTheLargestNorm_ByHand()
    {
        // h = g/(L + 1e-8): g₁ = (3, 4), L₁ = 1 → h₁ = (3, 4)/(1 + 1e-8), ‖·‖ ≈ 5; g₂ = (0, −2), L₂ = 4 → h₂ ≈ (0, −0.5).
        // b = (1 − β)h = 0.1h; α = max‖b‖/(‖b_t‖ + 1e-8); update = Σ α_t b_t.
        var (update, _) = StepWithLosses(new DbMtlAggregator(), [[3, 4], [0, -2]], [1, 4], 0);

        double s1 = 1 / (1 + 1e-8), s2 = 1 / (4 + 1e-8);
        double n1 = 0.1 * 5 * s1, n2 = 0.1 * 2 * s2;
        double a1 = n1 / (n1 + 1e-8), a2 = n1 / (n2 + 1e-8);
        update[0].Should().BeApproximately(a1 * 0.1 * 3 * s1, 1e-12);
        update[1].Should().BeApproximately(a1 * 0.1 * 4 * s1 + a2 * 0.1 * -2 * s2, 1e-12);
    }

    [Fact]
    public void RepresentationMode_CombinesTheRepresentationsGradients_AndBackpropagatesTheUpdate_ByHand()
    {
        // r = W·x with x = (1, 2); L₁ = (3, 0)·r + h₁, L₂ = (−1, 1)·r + h₂: ∂L_t/∂r = a_t, G = [[9, −3], [−3, 2]].
        // MGDA: α = (5/17, 12/17) (Frank–Wolfe's first step from ½ reaches it); u = α₁a₁ + α₂a₂ = (3/17, 12/17);
        // the encoder gets ∂/∂W = u ⊗ x, each head its own task's gradient 1.
        using var scope = NewDisposeScope();
        using var w = new Parameter(tensor(new double[,] { { 0.5, -1 }, { 2, 0.25 } }));
        using var h1 = new Parameter(tensor(0.0, dtype: ScalarType.Float64));
        using var h2 = new Parameter(tensor(0.0, dtype: ScalarType.Float64));
        var x = tensor(new double[] { 1, 2 }).reshape(1, 2);
        var r = matmul(x, w.t());
        var losses = new Dictionary<string, Tensor>
        {
            ["a"] = (r * tensor(new double[] { 3, 0 })).sum() + h1,
            ["b"] = (r * tensor(new double[] { -1, 1 })).sum() + h2,
        };
        var composer = new GradientComposer("mgda", new MgdaAggregator(), representation: true);

        var loss = composer.Compose(losses, new LossContext { SharedParameters = [w], Representation = r });
        loss.Backward();

        var grad = w.grad!.data<double>().ToArray();
        grad.Should().Equal([3.0 / 17, 6.0 / 17, 12.0 / 17, 24.0 / 17], (p, q) => Math.Abs(p - q) < 1e-15);
        h1.grad!.item<double>().Should().Be(1);
        h2.grad!.item<double>().Should().Be(1);
        loss.Weights["a"].Should().BeApproximately(5.0 / 17, 1e-15);
    }

    [Fact]
    public void RepresentationMode_WithoutARepresentation_SaysWhatItNeeds()
    {
        using var theta = new Parameter(zeros(2, dtype: ScalarType.Float64));
        var act = () => new GradientComposer("upgrad", new UPGradAggregator(), representation: true)
            .Compose(new Dictionary<string, Tensor> { ["a"] = theta.sum() }, new LossContext { SharedParameters = [theta] });

        act.Should().Throw<ArgumentException>().WithMessage("upgrad with rep_grad needs LossContext.Representation*");
    }
}
