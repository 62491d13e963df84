using FluentAssertions;
using SpatialNet.Heads;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

public class ClassificationHeadTests
{
    private static readonly TokenLayout Layout = new(EmbedDim: 8, NumPrefixTokens: 1);

    [Theory]
    [InlineData(PoolingKind.ClassToken)]
    [InlineData(PoolingKind.Mean)]
    [InlineData(PoolingKind.Attention)]
    public void ProducesOneLogitPerClassAndProbabilitiesAtInference(PoolingKind pooling)
    {
        using var head = new ClassificationHead("land_use", Layout, new ClassificationHeadOptions { NumClasses = 5, Pooling = pooling, AttentionPoolHeads = 2 });
        using var tokens = randn(3, 10, 8);

        using var logits = head.call(tokens);
        using var probabilities = head.Predict(logits);

        head.Pooling.Should().Be(pooling);
        head.Kind.Should().Be(TaskKind.Classification);
        logits.shape.Should().Equal(3, 5);
        probabilities.shape.Should().Equal(3, 5);
        using var rowSums = probabilities.sum(1);
        rowSums.allclose(ones(3)).Should().BeTrue();
    }

    [Fact]
    public void PoolingDefaultsToTheClassTokenWhenThereIsOneElseTheMean()
    {
        using var withToken = new ClassificationHead("a", Layout, new ClassificationHeadOptions { NumClasses = 2 });
        using var withoutToken = new ClassificationHead("a", Layout with { NumPrefixTokens = 0 }, new ClassificationHeadOptions { NumClasses = 2 });

        withToken.Pooling.Should().Be(PoolingKind.ClassToken);
        withoutToken.Pooling.Should().Be(PoolingKind.Mean);
    }

    [Fact]
    public void PlainCrossEntropyIsMinusLogSoftmaxOfTheTarget()
    {
        using var head = new ClassificationHead("a", Layout, new ClassificationHeadOptions { NumClasses = 2 });
        using var logits = tensor(new float[] { 2, 0 }).reshape(1, 2);
        using var target = tensor(new long[] { 0 });

        using var loss = head.Loss(logits, target);

        // −log(e² / (e² + 1)) = log(1 + e⁻²) = 0.126928
        loss.item<float>().Should().BeApproximately(0.126928f, 1e-5f);
    }

    [Fact]
    public void LabelSmoothingAndClassWeightsFollowTheDocumentedFormulaOnUniformLogits()
    {
        // Uniform logits over C = 2: −ℓ = ln 2 for every class. Targets [0, 0], w = [2, 1], ε = 0.3:
        // numerator = Σ_i (1−ε)·w_0·ln2 + (ε/C)·(w_0+w_1)·ln2 = 2·(0.7·2 + 0.15·3)·ln2 = 3.7·ln2
        // denominator = Σ_i w_{y_i} = 4  →  L = 0.925·ln2 = 0.6411611
        using var head = new ClassificationHead("a", Layout, new ClassificationHeadOptions
        {
            NumClasses = 2, LabelSmoothing = 0.3, ClassWeights = [2, 1],
        });
        using var logits = zeros(2, 2);
        using var targets = tensor(new long[] { 0, 0 });

        using var loss = head.Loss(logits, targets);

        loss.item<float>().Should().BeApproximately(0.6411611f, 1e-5f);
    }

    [Fact]
    public void LabelSmoothingAndClassWeightsMatchAHandComputationOnGeneralLogits()
    {
        double[][] z = [[1.0, 2.0, 0.5], [0.2, -1.0, 3.0]];
        long[] y = [1, 2];
        double[] w = [1.0, 2.0, 0.5];
        const double eps = 0.1;
        const int classes = 3;

        // Independent computation with doubles: log-softmax by hand, then Eq. (7) with smoothing and weights.
        double numerator = 0, denominator = 0;
        for (int i = 0; i < z.Length; i++)
        {
            double logSumExp = Math.Log(z[i].Sum(Math.Exp));
            double[] nll = z[i].Select(v => logSumExp - v).ToArray();
            numerator += (1 - eps) * w[y[i]] * nll[y[i]];
            numerator += eps / classes * Enumerable.Range(0, classes).Sum(c => w[c] * nll[c]);
            denominator += w[y[i]];
        }

        double expected = numerator / denominator;

        using var head = new ClassificationHead("a", Layout, new ClassificationHeadOptions
        {
            NumClasses = classes, LabelSmoothing = eps, ClassWeights = w,
        });
        using var logits = tensor(z.SelectMany(r => r).Select(v => (float)v).ToArray()).reshape(2, 3);
        using var targets = tensor(y);

        using var loss = head.Loss(logits, targets);

        loss.item<float>().Should().BeApproximately((float)expected, 1e-5f);
        // The weights are kept per device and dtype: a second call and a float64 call give the same value,
        // and they never enter the state dict.
        head.Loss(logits, targets).item<float>().Should().BeApproximately((float)expected, 1e-5f);
        using var logits64 = logits.to(ScalarType.Float64);
        head.Loss(logits64, targets).item<double>().Should().BeApproximately(expected, 1e-7);   // inputs rounded to float32
        head.state_dict().Keys.Should().BeEquivalentTo("fc.weight", "fc.bias");
    }

    [Fact]
    public void SamplesWithTheIgnoreIndexAddNothing()
    {
        using var head = new ClassificationHead("a", Layout, new ClassificationHeadOptions { NumClasses = 2 });
        using var logits = tensor(new float[] { 2, 0, 5, -5 }).reshape(2, 2);
        using var targets = tensor(new long[] { 0, -100 });

        using var loss = head.Loss(logits, targets);

        loss.item<float>().Should().BeApproximately(0.126928f, 1e-5f);
    }

    [Fact]
    public void GradientsReachPoolingAndOutputLayer()
    {
        using var head = new ClassificationHead("a", Layout, new ClassificationHeadOptions { NumClasses = 3, Pooling = PoolingKind.Attention, AttentionPoolHeads = 2 });
        using var tokens = randn(4, 6, 8);
        using var targets = tensor(new long[] { 0, 1, 2, 1 });

        using var loss = head.Loss(head.call(tokens), targets);
        loss.backward();

        foreach (var (name, p) in head.named_parameters())
        {
            p.grad.Should().NotBeNull(name);
            p.grad!.abs().sum().item<float>().Should().BeGreaterThan(0, name);
        }
    }

    [Theory]
    [InlineData(0, 0.0, null, "Task 'a': ClassificationHeadOptions.NumClasses = 0 is not allowed; allowed: an integer >= 1.")]
    [InlineData(3, 1.0, null, "Task 'a': ClassificationHeadOptions.LabelSmoothing = 1 is not allowed; allowed: a number in [0, 1).")]
    [InlineData(3, 0.0, new[] { 1.0, 2.0 }, "Task 'a': ClassificationHeadOptions.ClassWeights = [1, 2] is not allowed; allowed: null or 3 weights (one per class, NumClasses = 3).")]
    [InlineData(2, 0.0, new[] { 1.0, -2.0 }, "Task 'a': ClassificationHeadOptions.ClassWeights = [1, -2] is not allowed; allowed: finite weights >= 0, not all 0.")]
    public void InvalidOptionsAreRejectedNamingTheOptionAndAllowedValues(int classes, double smoothing, double[]? weights, string message)
    {
        var options = new ClassificationHeadOptions { NumClasses = classes, LabelSmoothing = smoothing, ClassWeights = weights };

        var act = () => new ClassificationHead("a", Layout, options);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain(message);
    }
}
