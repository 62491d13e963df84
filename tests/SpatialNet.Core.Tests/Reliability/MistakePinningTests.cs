using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Losses;
using SpatialNet.Modules;
using SpatialNet.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Reliability;

/// <summary>
/// Each test fails if one realistic one-line mistake is made in the code it names (docs/reliability.md,
/// "Tests that catch mistakes"); expected values are computed by hand.
/// </summary>
public sealed class MistakePinningTests : IDisposable
{
    private static readonly TokenLayout Layout = new(EmbedDim: 8, NumPrefixTokens: 1);

    private readonly string _dir = Directory.CreateTempSubdirectory("spatialnet-pin-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MultiLabelPositiveWeights_ScaleOnlyThePositiveTerms_NotTheNegativeOnes()
    {
        // MultiLabelHead.Loss: pos_weight p_l multiplies −log σ(z) of positives only; a plain weight would
        // multiply a negative's −log(1 − σ(z)) too. Logits [0, 2], targets [0, 1], p = [3, 2]:
        // label 0 (negative): log 2 = 0.6931472; label 1 (positive): 2·log(1 + e^−2) = 2·0.1269280.
        // Mean (0.6931472 + 0.2538560) / 2 = 0.4735016 (as plain weights: (3·0.6931472 + 0.2538560) / 2 = 1.1666488).
        using var head = new MultiLabelHead("objects", Layout, new MultiLabelHeadOptions { NumLabels = 2, PositiveWeights = [3, 2] });
        using var logits = tensor(new float[] { 0, 2 }).reshape(1, 2);
        using var targets = tensor(new float[] { 0, 1 }).reshape(1, 2);

        using var loss = head.Loss(logits, targets);

        loss.item<float>().Should().BeApproximately(0.4735016f, 1e-5f);
    }

    [Theory]
    [InlineData(0L, false)]
    [InlineData(2L, false)]
    [InlineData(3L, true)]
    [InlineData(-1L, true)]
    [InlineData(-100L, true)]
    public void IgnoreIndex_InsideTheClassRangeIncludingZero_IsRefused(long ignoreIndex, bool allowed)
    {
        // ClassificationHeadOptions: an ignore index that is a class (0 included) would drop that class's samples from the loss.
        var errors = new ClassificationHeadOptions { NumClasses = 3, IgnoreIndex = ignoreIndex }.Validate("land_cover");

        if (allowed)
            errors.Should().BeEmpty();
        else
            errors.Should().ContainSingle().Which.Should().Contain("IgnoreIndex").And.Contain("[0, 3)");
    }

    [Theory]
    [InlineData(12, 30)]    // ratio 2.5: integer division would give 2 (width 24)
    [InlineData(11, 15)]    // 15 / 11 rounds to a double whose product with 11 is 14.999…
    [InlineData(768, 3072)]
    public void AHuggingFaceConfigWithANonIntegerMlpRatio_GivesBackItsIntermediateSize(int hidden, int intermediate)
    {
        var config = Path.Combine(_dir, "config.json");
        File.WriteAllText(config, $$"""{ "hidden_size": {{hidden}}, "intermediate_size": {{intermediate}}, "num_attention_heads": 1, "num_hidden_layers": 1 }""");

        var options = HuggingFaceVit.ReadOptions(config);

        options.MlpHiddenDim.Should().Be(intermediate);
    }

    [Fact]
    public void SeveralNewTokensAfterACachedPrefix_SeeTheShiftedCausalMask()
    {
        // MultiHeadSelfAttention.ForwardCached: 2 cached positions, then 3 new tokens at once; new token i
        // sees positions 0..2 + i. An unshifted triangle (tril(0)) hides cached positions from them.
        using var attention = new MultiHeadSelfAttention(8, 2);
        attention.to(float64);
        using var x = randn(2, 5, 8, dtype: float64);
        using var causal = ones(5, 5, dtype: @bool).tril();
        using var full = attention.Forward(x, causal);
        using var cache = new KeyValueCache();

        using var prefix = attention.ForwardCached(x.narrow(1, 0, 2), cache);
        using var rest = attention.ForwardCached(x.narrow(1, 2, 3), cache);

        rest.allclose(full.narrow(1, 2, 3), rtol: 0, atol: 1e-12).Should().BeTrue();
    }

    // Survivors of the Stryker.NET run on Losses (docs/reliability.md), killed here.

    [Fact]
    public void DynamicWeightAverage_LargeLossRatios_GiveFiniteWeights()
    {
        // w_k = K·exp(r_k/T) / Σ exp(r_j/T) with r = L(t−1)/L(t−2) (Liu et al. 2019, Eq. 6). r = 800 and 1 at T = 0.5:
        // exp(1600) overflows a double unless the largest r/T is subtracted first; the weights are then 2 and 2·e^−1598 ≈ 0.
        var dwa = new DynamicWeightAverage(temperature: 0.5);
        Epoch(dwa, 1, 1);
        Epoch(dwa, 800, 1);

        dwa.WeightOf("a").Should().Be(2.0);
        dwa.WeightOf("b").Should().Be(0.0);
    }

    [Fact]
    public void DynamicWeightAverage_ATaskWhoseEarlierLossWasZero_HasTheRatioOne()
    {
        // L(t−2) = 0 gives no ratio (it would be ∞ or NaN): r = 1. With the other task's r = 1 too, both weights are 1.
        var dwa = new DynamicWeightAverage();
        Epoch(dwa, 0, 1);
        Epoch(dwa, 3, 1);

        dwa.WeightOf("a").Should().Be(1.0);
        dwa.WeightOf("b").Should().Be(1.0);
    }

    [Fact]
    public void AZeroLossWeight_IsAllowed_ANegativeOneIsNot()
    {
        // LossChecks.RequireWeight: λ = 0 switches a task off; only negative or non-finite weights are refused.
        new WeightedSum(new Dictionary<string, double> { ["a"] = 0.0 }).WeightOf("a").Should().Be(0.0);
        FluentActions.Invoking(() => new WeightedSum(new Dictionary<string, double> { ["a"] = -1e-9 })).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void DynamicWeightAverage_LoadingAState_ReplacesTheHistoryItHad()
    {
        // LoadState clears the running sums and the history first: a resumed run has the saved state only
        // (an empty state is a run that has not finished an epoch).
        var used = new DynamicWeightAverage();
        Epoch(used, 1, 1);
        Epoch(used, 4, 1);
        used.WeightOf("a").Should().NotBe(1.0);
        using (var scope = NewDisposeScope())
            used.Compose(new Dictionary<string, Tensor> { ["a"] = tensor(100f), ["b"] = tensor(1f) }, LossContext.None);   // mid-epoch sums

        used.LoadState(new Dictionary<string, double[]>());   // a state without epochs_finished: 0 epochs

        used.EpochsFinished.Should().Be(0);
        used.WeightOf("a").Should().Be(1.0);
        Epoch(used, 1, 1);
        Epoch(used, 1, 1);
        used.WeightOf("a").Should().Be(1.0, "two epochs after the load, ratios 1 and 1: the old history would give a ratio of 1/4");
    }

    [Fact]
    public void DynamicWeightAverage_RefusesALossThatIsNotAScalar()
    {
        var dwa = new DynamicWeightAverage();
        using var vector = ones(2);

        FluentActions.Invoking(() => dwa.Compose(new Dictionary<string, Tensor> { ["a"] = vector }, LossContext.None))
            .Should().Throw<ArgumentException>().WithMessage("*task 'a'*0-dim*");
    }

    private static void Epoch(DynamicWeightAverage dwa, float a, float b)
    {
        using (var scope = NewDisposeScope())
            dwa.Compose(new Dictionary<string, Tensor> { ["a"] = tensor(a), ["b"] = tensor(b) }, LossContext.None);
        dwa.OnEpochEnd();
    }
}
