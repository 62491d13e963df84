using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses;

public class GradNormTests
{
    private static TaskCatalog TwoTasks() => new(new TaskDefinition("a", TaskKind.Regression), new TaskDefinition("b", TaskKind.Regression));

    /// <summary>
    /// Shared layer θ = [[1, 1]]; L_a = (3, 4)·θ + c_a, L_b = (0, 1)·θ + c_b, so ‖∇_θ L_a‖ = 5 and ‖∇_θ L_b‖ = 1.
    /// </summary>
    private static (double[] WeightGrad, float[] ThetaGrad, double GradLoss) Step(GradNorm composer, double ca, double cb)
    {
        using var scope = NewDisposeScope();
        using var theta = new Parameter(ones(1, 2));
        var la = (theta * tensor(new float[] { 3, 4 })).sum() + ca;
        var lb = (theta * tensor(new float[] { 0, 1 })).sum() + cb;
        composer.Weights.grad = null;
        var loss = composer.Compose(new Dictionary<string, Tensor> { ["a"] = la, ["b"] = lb }, new LossContext { SharedParameters = [theta] });
        loss.Backward();
        var w = composer.Weights.grad!.to(ScalarType.Float64).data<double>().ToArray();
        return (w, theta.grad!.data<float>().ToArray(), loss.Penalties[GradNorm.PenaltyName]);
    }

    [Fact]
    public void FirstStep_PullsBothWeightedGradientNormsToTheirMean()
    {
        // w = (1, 1) → w̃ = 2w/Σw = (1, 1); G = (5, 1), Ḡ = 3; at the first step L̃ = 1, r = 1, so the target is 3.
        // L_grad = |5 − 3| + |1 − 3| = 4. ∂L_grad/∂w̃ = (sign(2)·5, sign(−2)·1) = (5, −1).
        // ∂w̃₁/∂w = (2w₂/Σ², −2w₁/Σ²) = (0.5, −0.5); ∂w̃₂/∂w = (−0.5, 0.5) → ∂L_grad/∂w = (5·0.5 + 1·0.5, −5·0.5 − 1·0.5) = (3, −3).
        // The network sees Σ w̃ L with w̃ fixed: ∇θ = 1·(3, 4) + 1·(0, 1) = (3, 5); L_grad adds nothing to θ.
        using var composer = new GradNorm(TwoTasks(), alpha: 1.5);

        var (weightGrad, thetaGrad, gradLoss) = Step(composer, 0, 0);

        gradLoss.Should().BeApproximately(4, 1e-5);
        weightGrad[0].Should().BeApproximately(3, 1e-5);
        weightGrad[1].Should().BeApproximately(-3, 1e-5);
        thetaGrad.Should().Equal(3f, 5f);
    }

    [Theory]
    [InlineData(0.0, 3.0, -3.0)]
    [InlineData(3.0, -3.0, 3.0)]
    public void Alpha_SetsHowStronglyTheSlowerTaskIsFavoured(double alpha, double expectedA, double expectedB)
    {
        // Step 1: L = (7, 1) (the initial losses). Step 2: L = (7, 0.5): L̃ = (1, 0.5), r = L̃/mean = (4/3, 2/3).
        // α = 0: targets Ḡ·r⁰ = (3, 3) → signs (+, −) → ∂/∂w = (3, −3), as at step 1.
        // α = 3: r³ = (2.370, 0.296), targets (7.11, 0.889) → G − target = (−2.11, +0.111): signs (−, +)
        //   → ∂/∂w̃ = (−5, 1) → ∂/∂w = (−5·0.5 + 1·(−0.5), −5·(−0.5) + 1·0.5) = (−3, 3): task a (training slower) gains weight.
        using var composer = new GradNorm(TwoTasks(), alpha);
        Step(composer, 0, 0);

        var (weightGrad, _, _) = Step(composer, 0, -0.5);

        weightGrad[0].Should().BeApproximately(expectedA, 1e-5);
        weightGrad[1].Should().BeApproximately(expectedB, 1e-5);
    }

    [Fact]
    public void EffectiveWeights_AreRenormalisedToTheNumberOfTasks()
    {
        using var composer = new GradNorm(TwoTasks());
        using (no_grad())
            composer.Weights.copy_(tensor(new float[] { 3, 1 }));
        using var scope = NewDisposeScope();
        using var theta = new Parameter(ones(1, 2));
        var loss = composer.Compose(
            new Dictionary<string, Tensor> { ["a"] = (theta * 2).sum(), ["b"] = theta.sum() },
            new LossContext { SharedParameters = [theta] });

        // w̃ = 2·(3, 1)/4 = (1.5, 0.5): Σ w̃ = T = 2.
        loss.Weights["a"].Should().BeApproximately(1.5, 1e-6);
        loss.Weights["b"].Should().BeApproximately(0.5, 1e-6);
    }

    [Fact]
    public void With_a_classifier_inside_the_encoder_the_last_shared_layer_is_the_last_block_fc2()
    {
        // The encoder's own classifier (NumClasses > 0) is not on the heads' path: the last shared weight
        // matrix is the last block's mlp.fc2. At the first step w̃ = (1, 1) and r = (1, 1), so
        // L_grad = |G_a − Ḡ| + |G_b − Ḡ| = |G_a − G_b| with G_t = ‖∇ L_t‖ on that matrix.
        manual_seed(5);
        var options = new VisionTransformerOptions { ImageSize = 8, PatchSize = 4, EmbedDim = 8, Depth = 2, NumHeads = 2, NumClasses = 5 };
        using var encoder = new VisionTransformer(options);
        var layout = TokenLayout.Of(encoder);
        using var model = new MultiTaskModel(encoder,
        [
            new RegressionHead("a", layout, new RegressionHeadOptions { Pooling = PoolingKind.Mean }),
            new RegressionHead("b", layout, new RegressionHeadOptions { Pooling = PoolingKind.ClassToken }),
        ]);
        using var composer = new GradNorm(TwoTasks());
        var images = randn(3, 3, 8, 8);
        var targets = new Dictionary<string, Tensor> { ["a"] = randn(3), ["b"] = randn(3) };
        var losses = model.Losses(model.Forward(images), targets);
        var fc2 = model.named_parameters().Single(p => p.name == "encoder.blocks.1.mlp.fc2.weight").parameter;
        double Norm(string task) => linalg.vector_norm(autograd.grad([losses[task]], [fc2], retain_graph: true)[0]).item<float>();
        double expected = Math.Abs(Norm("a") - Norm("b"));

        model.SharedParameters().Should().NotContain(p => p.dim() == 2 && p.shape[0] == 5, "the encoder's classifier weight [5, 8] is not shared by the tasks");
        var composed = composer.Compose(losses, new LossContext { SharedParameters = model.SharedParameters() });

        composed.Penalties[GradNorm.PenaltyName].Should().BeApproximately(expected, 1e-5 * Math.Max(1, expected));
    }

    [Fact]
    public void SoftmaxWeighting_IsTTimesTheSoftmaxOfTheLearnedWeights()
    {
        // LibMTL's form: w = (0, ln 3) → softmax = (¼, ¾) → w̃ = 2·softmax = (0.5, 1.5); the objective Σ w̃_t L_t.
        using var composer = new GradNorm(TwoTasks(), 1.5, GradNorm.SoftmaxWeighting);
        using (no_grad())
            composer.Weights.copy_(tensor(new float[] { 0, (float)Math.Log(3) }));
        using var theta = new Parameter(ones(1, 2));
        var la = (theta * tensor(new float[] { 3, 4 })).sum();
        var lb = (theta * tensor(new float[] { 0, 1 })).sum();

        var loss = composer.Compose(new Dictionary<string, Tensor> { ["a"] = la, ["b"] = lb }, new LossContext { SharedParameters = [theta] });

        loss.Weights["a"].Should().BeApproximately(0.5, 1e-6);
        loss.Weights["b"].Should().BeApproximately(1.5, 1e-6);
        (loss.TotalValue - loss.Penalties[GradNorm.PenaltyName]).Should().BeApproximately(0.5 * 7 + 1.5 * 1, 1e-5);
    }

    [Fact]
    public void AnUnknownWeighting_IsRefused()
    {
        var act = () => new GradNorm(TwoTasks(), 1.5, "exp");

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*loss:gradnorm:weighting must be linear or softmax*");
    }
}
