using FluentAssertions;
using SpatialNet.Heads;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

public class MultiLabelHeadTests
{
    private static readonly TokenLayout Layout = new(EmbedDim: 8, NumPrefixTokens: 0);

    [Fact]
    public void ProducesOneLogitPerLabelAndSigmoidProbabilities()
    {
        using var head = new MultiLabelHead("objects", Layout, new MultiLabelHeadOptions { NumLabels = 6 });
        using var tokens = randn(2, 4, 8);

        using var logits = head.call(tokens);
        using var probabilities = head.Predict(logits);

        logits.shape.Should().Equal(2, 6);
        head.Kind.Should().Be(TaskKind.MultiLabel);
        using var expected = 1 / (1 + (-logits).exp());
        probabilities.allclose(expected).Should().BeTrue();
    }

    [Fact]
    public void BinaryCrossEntropyMatchesHandComputation()
    {
        // logits [0, 2], targets [1, 0]:
        // −log σ(0) = ln 2 = 0.6931472;  −log(1 − σ(2)) = ln(1 + e²) = 2.1269280;  mean = 1.4100376
        using var head = new MultiLabelHead("objects", Layout, new MultiLabelHeadOptions { NumLabels = 2 });
        using var logits = tensor(new float[] { 0, 2 }).reshape(1, 2);
        using var targets = tensor(new float[] { 1, 0 }).reshape(1, 2);

        using var loss = head.Loss(logits, targets);

        loss.item<float>().Should().BeApproximately(1.4100376f, 1e-5f);
    }

    [Fact]
    public void PositiveWeightsScaleThePositiveTerm()
    {
        // Same as above with p = [3, 1]: (3·0.6931472 + 2.1269280)/2 = 2.1031848
        using var head = new MultiLabelHead("objects", Layout, new MultiLabelHeadOptions { NumLabels = 2, PositiveWeights = [3, 1] });
        using var logits = tensor(new float[] { 0, 2 }).reshape(1, 2);
        using var targets = tensor(new float[] { 1, 0 }).reshape(1, 2);

        using var loss = head.Loss(logits, targets);

        loss.item<float>().Should().BeApproximately(2.1031848f, 1e-5f);
    }

    [Theory]
    [InlineData(0, null, "Task 'o': MultiLabelHeadOptions.NumLabels = 0 is not allowed; allowed: an integer >= 1.")]
    [InlineData(2, new[] { 1.0 }, "Task 'o': MultiLabelHeadOptions.PositiveWeights = [1] is not allowed; allowed: null or 2 weights (one per label, NumLabels = 2).")]
    [InlineData(2, new[] { 1.0, 0.0 }, "Task 'o': MultiLabelHeadOptions.PositiveWeights = [1, 0] is not allowed; allowed: finite weights > 0.")]
    public void InvalidOptionsAreRejectedNamingTheOptionAndAllowedValues(int labels, double[]? weights, string message)
    {
        var act = () => new MultiLabelHead("o", Layout, new MultiLabelHeadOptions { NumLabels = labels, PositiveWeights = weights });

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain(message);
    }
}
