using FluentAssertions;
using SpatialNet.Heads;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

public class RegressionHeadTests
{
    private static readonly TokenLayout Layout = new(EmbedDim: 8, NumPrefixTokens: 1);

    [Fact]
    public void OneOutputGivesOneValuePerImage()
    {
        using var head = new RegressionHead("building_count", Layout, new RegressionHeadOptions());
        using var tokens = randn(3, 5, 8);

        using var values = head.call(tokens);

        values.shape.Should().Equal(3);
        head.Kind.Should().Be(TaskKind.Regression);
    }

    [Fact]
    public void SeveralOutputsGiveAVectorPerImage()
    {
        using var head = new RegressionHead("counts", Layout, new RegressionHeadOptions { Outputs = 4, Pooling = PoolingKind.Mean });
        using var tokens = randn(3, 5, 8);

        using var values = head.call(tokens);

        values.shape.Should().Equal(3, 4);
    }

    [Fact]
    public void MseIsComputedAgainstNormalisedTargets()
    {
        // μ = 10, σ = 4: targets [12, 4] → t' = [0.5, −1.5]; predictions [0.5, −1]
        // errors [0, 0.5] → MSE (Eq. 8) = (0² + 0.5²)/2 = 0.125
        using var head = new RegressionHead("n", Layout, new RegressionHeadOptions { TargetMean = 10, TargetStd = 4 });
        using var predictions = tensor(new float[] { 0.5f, -1f });
        using var targets = tensor(new float[] { 12f, 4f });

        using var loss = head.Loss(predictions, targets);

        loss.item<float>().Should().BeApproximately(0.125f, 1e-6f);
    }

    [Fact]
    public void WithoutNormalisationItIsPlainMse()
    {
        // ((1−3)² + (2−2)² + (0−(−1))²)/3 = (4 + 0 + 1)/3 = 5/3
        using var head = new RegressionHead("n", Layout, new RegressionHeadOptions());
        using var predictions = tensor(new float[] { 1, 2, 0 });
        using var targets = tensor(new float[] { 3, 2, -1 }).reshape(3, 1);

        using var loss = head.Loss(predictions, targets);

        loss.item<float>().Should().BeApproximately(5f / 3f, 1e-6f);
    }

    [Fact]
    public void InferenceDeNormalisesPredictions()
    {
        // ŷ = σ·ŷ' + μ = 4·[0.5, −1] + 10 = [12, 6]
        using var head = new RegressionHead("n", Layout, new RegressionHeadOptions { TargetMean = 10, TargetStd = 4 });
        using var predictions = tensor(new float[] { 0.5f, -1f });

        using var values = head.Predict(predictions);

        values.data<float>().ToArray().Should().Equal(12f, 6f);
    }

    [Fact]
    public void TargetsOfAnotherSizeAreRejected()
    {
        using var head = new RegressionHead("n", Layout, new RegressionHeadOptions());
        using var predictions = zeros(2);
        using var targets = zeros(2, 3);

        var act = () => head.Loss(predictions, targets);

        act.Should().Throw<ArgumentException>().WithMessage("Task 'n': targets [2, 3] do not match predictions [2]*");
    }

    [Theory]
    [InlineData(0, 1.0, "Task 'n': RegressionHeadOptions.Outputs = 0 is not allowed; allowed: an integer >= 1.")]
    [InlineData(1, 0.0, "Task 'n': RegressionHeadOptions.TargetStd = 0 is not allowed; allowed: a finite number > 0.")]
    public void InvalidOptionsAreRejectedNamingTheOptionAndAllowedValues(int outputs, double std, string message)
    {
        var act = () => new RegressionHead("n", Layout, new RegressionHeadOptions { Outputs = outputs, TargetStd = std });

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain(message);
    }

    [Fact]
    public void SeveralOutputs_AreNormalisedEachWithItsOwnStatistics()
    {
        // Output 0: a count (μ 10, σ 5); output 1: a fraction (μ 0.5, σ 0.1).
        // Targets [[15, 0.6], [5, 0.4]] → t' = [[1, 1], [−1, −1]]; predictions 0 → MSE = (1+1+1+1)/4 = 1.
        using var head = new RegressionHead("mixed", Layout, new RegressionHeadOptions
        {
            Outputs = 2, TargetMeans = [10, 0.5], TargetStds = [5, 0.1],
        });
        using var predictions = zeros(2, 2);
        using var targets = tensor(new float[] { 15, 0.6f, 5, 0.4f }).reshape(2, 2);

        using var loss = head.Loss(predictions, targets);
        using var denormalised = head.Predict(tensor(new float[] { 1, -1, 0, 2 }).reshape(2, 2));

        loss.item<float>().Should().BeApproximately(1f, 1e-5f);
        // ŷ_k = σ_k·ŷ'_k + μ_k: [[15, 0.4], [10, 0.7]].
        var p = denormalised.data<float>().ToArray();
        p[0].Should().BeApproximately(15f, 1e-5f);
        p[1].Should().BeApproximately(0.4f, 1e-6f);
        p[2].Should().BeApproximately(10f, 1e-5f);
        p[3].Should().BeApproximately(0.7f, 1e-6f);
    }

    [Fact]
    public void PerOutputStatistics_OfTheWrongLength_AreRejected()
    {
        var act = () => new RegressionHead("mixed", Layout, new RegressionHeadOptions { Outputs = 2, TargetMeans = [1, 2, 3] });

        act.Should().Throw<ArgumentException>().WithMessage("*TargetMeans*2 finite numbers*");
    }
}
