using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Losses;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses;

/// <summary>
/// Loss-based strategies against TorchJD v0.17's published scalarizer test values
/// (tests/unit/scalarization/, tolerance 1e-12 there) and hand derivations.
/// </summary>
public class LossBasedStrategiesTests
{
    private static TaskCatalog Regression(int count) =>
        new(Enumerable.Range(0, count).Select(i => new TaskDefinition($"t{i}", TaskKind.Regression)));

    private static Dictionary<string, Tensor> Losses(params double[] values) =>
        values.Select((v, i) => (v, i)).ToDictionary(p => $"t{p.i}", p => tensor(p.v, dtype: ScalarType.Float64));

    [Fact]
    public void ImtlL_AtZeroScales_IsTheSum_TorchJDsValue()
    {
        using var composer = new ImtlL(Regression(3));
        composer.to(ScalarType.Float64);

        var loss = composer.Compose(Losses(1, 2, 4), LossContext.None);

        loss.TotalValue.Should().BeApproximately(7.0, 1e-12);
        loss.Weights.Values.Should().AllSatisfy(w => w.Should().Be(1.0));
    }

    [Fact]
    public void ImtlL_IsTwiceUncertaintyWeightingWithTheScaleNegated()
    {
        // TorchJD's documented identity IMTL(s) = 2·UW(−s) for the regression form ½e^(−s)L + ½s.
        var s = new[] { 0.3, -0.7, 1.2 };
        using var imtl = new ImtlL(Regression(3));
        using var uw = new UncertaintyWeighting(Regression(3));
        imtl.to(ScalarType.Float64);
        uw.to(ScalarType.Float64);
        using (no_grad())
        {
            imtl.LogScales.copy_(tensor(s, dtype: ScalarType.Float64));
            uw.LogVariances.copy_(tensor(s.Select(x => -x).ToArray(), dtype: ScalarType.Float64));
        }

        double a = imtl.Compose(Losses(0.5, 2, 4), LossContext.None).TotalValue;
        double b = uw.Compose(Losses(0.5, 2, 4), LossContext.None).TotalValue;

        a.Should().BeApproximately(2 * b, 1e-12);
    }

    [Fact]
    public void Uncertainty_RegressionForm_IsTorchJDsValue_AndTheInitialLogVarianceIsAnOption()
    {
        using var zero = new UncertaintyWeighting(Regression(3));
        zero.to(ScalarType.Float64);
        zero.Compose(Losses(1, 2, 4), LossContext.None).TotalValue.Should().BeApproximately(3.5, 1e-12);

        // LibMTL's start s = −0.5: Σ ½e^(0.5)·L + ½(−0.5) = 3.5·e^0.5 − 0.75.
        using var libMtl = new UncertaintyWeighting(Regression(3), -0.5);
        libMtl.to(ScalarType.Float64);
        libMtl.Compose(Losses(1, 2, 4), LossContext.None).TotalValue.Should().BeApproximately(3.5 * Math.Exp(0.5) - 0.75, 1e-12);
    }

    [Fact]
    public void Gls_IsTheGeometricMean_TorchJDsValue_WithItsDerivativeAsWeights()
    {
        var loss = new GeometricLossStrategy().Compose(Losses(1, 2, 4), LossContext.None);

        loss.TotalValue.Should().BeApproximately(2.0, 1e-12);
        // ∂/∂L_t (L₁L₂L₃)^(1/3) = 2/(3·L_t).
        loss.Weights["t0"].Should().BeApproximately(2.0 / 3, 1e-12);
        loss.Weights["t2"].Should().BeApproximately(2.0 / 12, 1e-12);
    }

    [Fact]
    public void Stch_TorchJDForm_Values()
    {
        // test_value_default: μ = 1, values (0, 0): log 2.
        new SmoothTchebycheff(1.0).Compose(Losses(0, 0), LossContext.None).TotalValue.Should().BeApproximately(Math.Log(2), 1e-12);
        // Large values and small μ do not overflow: (2e30, 0)/2 → ≈ 1e30.
        new SmoothTchebycheff(1e-3).Compose(Losses(2e30, 0), LossContext.None).TotalValue.Should().BeApproximately(1e30, 1e18);
        // Weights: softmax(L/(Tμ))/T, for (1, 3), μ = 1: (e^0.5, e^1.5)/(e^0.5 + e^1.5)/2.
        var loss = new SmoothTchebycheff(1.0).Compose(Losses(1, 3), LossContext.None);
        double z = Math.Exp(0.5) + Math.Exp(1.5);
        loss.Weights["t0"].Should().BeApproximately(Math.Exp(0.5) / z / 2, 1e-12);
        loss.Weights["t1"].Should().BeApproximately(Math.Exp(1.5) / z / 2, 1e-12);
    }

    [Fact]
    public void Stch_LibMtlForm_WarmsUpThenNormalisesByTheNadirPoint()
    {
        var stch = new SmoothTchebycheff(mu: 0.5, warmupEpochs: 1);
        // Epoch 0: Σ log L.   Epoch 1: Σ log L and the nadir averages (2, 4) and (4, 8) → n = (3, 6).
        stch.Compose(Losses(1, 2), new LossContext { Epoch = 0 }).TotalValue.Should().BeApproximately(Math.Log(2), 1e-12);
        stch.Compose(Losses(2, 4), new LossContext { Epoch = 1 });
        stch.Compose(Losses(4, 8), new LossContext { Epoch = 1 });
        // Resume: the nadir sums travel through the state.
        var resumed = new SmoothTchebycheff(mu: 0.5, warmupEpochs: 1);
        resumed.LoadState(stch.SaveState());

        // Epoch 2, L = (3, 12): l = log(L/n) = (0, log 2); T·μ·log Σ exp((l − max l)/μ) = 2·0.5·log(e^(−2 log 2) + 1) = log(1.25).
        var loss = resumed.Compose(Losses(3, 12), new LossContext { Epoch = 2 });

        loss.TotalValue.Should().BeApproximately(Math.Log(1.25), 1e-12);
        // ∂/∂L_t = T·softmax_t/L_t with softmax = (0.2, 0.8).
        loss.Weights["t0"].Should().BeApproximately(2 * 0.2 / 3, 1e-12);
        loss.Weights["t1"].Should().BeApproximately(2 * 0.8 / 12, 1e-12);
    }

    [Fact]
    public void Rlw_DrawsSoftmaxOfStandardNormals_ReproduciblyPerStep()
    {
        var rlw = new RandomLossWeighting(seed: 7);

        var w = rlw.WeightsAt(3, 4);
        w.Sum().Should().BeApproximately(1, 1e-15);
        w.Should().OnlyContain(x => x > 0);
        new RandomLossWeighting(seed: 7).WeightsAt(3, 4).Should().Equal(w);
        rlw.WeightsAt(4, 4).Should().NotEqual(w);
        // The draws are standard normal: over 40 000 of them, mean 0 and variance 1 (standard errors 0.005 and 0.007).
        var z = Enumerable.Range(0, 10_000).SelectMany(s => TaskOrders.Normal(7, s, 4)).ToArray();
        z.Average().Should().BeApproximately(0, 0.025);
        z.Select(x => x * x).Average().Should().BeApproximately(1, 0.035);
    }

    [Fact]
    public void Famo_ValueAndWeights_AreTorchJDs()
    {
        // test_value: z = (½, ½), values (1, 2): Σ (z/N)·log(L + 1e-8), N = Σ z/(L + 1e-8) → 0.46209813422411444.
        var loss = new Famo().Compose(Losses(1, 2), LossContext.None);
        loss.TotalValue.Should().BeApproximately(0.46209813422411444, 1e-12);
        // test_value_gradient_matches_formula: ∂/∂L = z/(N·(L + 1e-8)).
        loss.Weights["t0"].Should().BeApproximately(0.6666666655555554, 1e-12);
        loss.Weights["t1"].Should().BeApproximately(0.3333333344444444, 1e-12);
        // test_min_losses_shifts_values: values (2, 3), bound 1 → the same value.
        new Famo(minLosses: 1).Compose(Losses(2, 3), LossContext.None).TotalValue.Should().BeApproximately(0.46209813422411444, 1e-12);
    }

    [Fact]
    public void Famo_LogitStep_IsAdamOnTheSoftmaxProductOfTheLogImprovements()
    {
        // ξ = 0, z = (½, ½), losses (2, 1) → (1, 1): δ = (ln 2, 0), ∇ξ = z ⊙ (δ − z·δ) = (¼ ln 2, −¼ ln 2).
        // Adam's first step: ξ −= lr·g/(|g| + 1e-8) (bias corrections cancel; weight decay·0 = 0).
        var famo = new Famo();
        famo.Compose(Losses(2, 1), LossContext.None);

        famo.AfterOptimizerStep(Losses(1, 1));

        double g = 0.25 * Math.Log(2 + 1e-8) - 0.25 * Math.Log(1 + 1e-8);   // ¼(log(2+ε) − log(1+ε))
        famo.Logit("t0").Should().BeApproximately(-0.025 * g / (g + 1e-8), 1e-12);
        famo.Logit("t1").Should().BeApproximately(0.025 * g / (g + 1e-8), 1e-12);
        // The weights follow: the task that improved more weighs less.
        var next = famo.Compose(Losses(1, 1), LossContext.None);
        next.Weights["t0"].Should().BeLessThan(next.Weights["t1"]);
    }

    [Fact]
    public void Famo_ResumesExactly()
    {
        var straight = new Famo();
        var first = new Famo();
        double[][] before = [[3, 2], [2.5, 1.9], [2.2, 1.85], [2.0, 1.7]];
        double[][] after = [[2.5, 1.9], [2.2, 1.85], [2.0, 1.7], [1.9, 1.6]];
        for (int k = 0; k < 4; k++)
        {
            straight.Compose(Losses(before[k]), LossContext.None);
            straight.AfterOptimizerStep(Losses(after[k]));
        }

        for (int k = 0; k < 2; k++)
        {
            first.Compose(Losses(before[k]), LossContext.None);
            first.AfterOptimizerStep(Losses(after[k]));
        }

        var resumed = new Famo();
        resumed.LoadState(first.SaveState());
        for (int k = 2; k < 4; k++)
        {
            resumed.Compose(Losses(before[k]), LossContext.None);
            resumed.AfterOptimizerStep(Losses(after[k]));
        }

        resumed.Logit("t0").Should().Be(straight.Logit("t0"));
        resumed.Logit("t1").Should().Be(straight.Logit("t1"));
    }
}
