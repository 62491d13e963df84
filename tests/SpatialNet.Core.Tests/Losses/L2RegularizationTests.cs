using FluentAssertions;
using SpatialNet.Losses;
using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses;

public class L2RegularizationTests
{
    /// <summary>A module with one parameter of every kind the default selection must tell apart.</summary>
    private sealed class Mixed : nn.Module<Tensor, Tensor>, IHasNoWeightDecay
    {
        private readonly Linear fc;
        private readonly LayerNorm norm;
        private readonly Parameter pos_embed;
        private readonly Parameter cls_token;

        public Mixed() : base(nameof(Mixed))
        {
            fc = nn.Linear(2, 2);
            norm = nn.LayerNorm(2);
            pos_embed = new Parameter(full(1, 3, 2, 5f));
            cls_token = new Parameter(full(1, 1, 2, 7f));
            RegisterComponents();
            using (no_grad())
            {
                fc.weight.copy_(tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2));
                fc.bias!.copy_(tensor(new float[] { 10, 20 }));
            }
        }

        public override Tensor forward(Tensor x) => norm.call(fc.call(x));

        public IReadOnlyCollection<string> NoWeightDecay() => ["pos_embed", "cls_token"];
    }

    private sealed class BFloat16Matrix : nn.Module
    {
        private readonly Parameter w = new(ones(257, 1, dtype: ScalarType.BFloat16));

        public BFloat16Matrix() : base(nameof(BFloat16Matrix)) => RegisterComponents();
    }

    [Fact]
    public void OnAVitWithLayerScale_TheDefaultSelectionIsTimmsRule()
    {
        using var vit = new VisionTransformer(new VisionTransformerOptions
        {
            ImageSize = 16, PatchSize = 8, EmbedDim = 8, Depth = 1, NumHeads = 2, LayerScaleInit = 1e-5,
        });

        var selected = new L2Regularization().SelectParameters(vit).Select(p => p.Name);

        // timm: every tensor with ndim <= 1 (biases, norms, ls1.gamma, ls2.gamma) and no_weight_decay() = {pos_embed, cls_token} are left out.
        selected.Should().BeEquivalentTo(
            "patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "blocks.0.attn.proj.weight", "blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc2.weight");
    }

    [Fact]
    public void UnderBFloat16_TheSumOfSquaresAccumulatesInFloat32()
    {
        using var module = new BFloat16Matrix();

        using var penalty = new L2Regularization(lambda: 1.0).Compute(module);

        // ½ · 257 · 1² = 128.5; a bfloat16 sum rounds 257 to 256 (8 significant bits).
        penalty.dtype.Should().Be(ScalarType.Float32);
        penalty.item<float>().Should().Be(128.5f);
    }

    [Fact]
    public void DefaultSelectionKeepsWeightMatricesOnly()
    {
        using var module = new Mixed();

        var selected = new L2Regularization().SelectParameters(module).Select(p => p.Name);

        selected.Should().Equal("fc.weight");
    }

    [Fact]
    public void ThePenaltyIsHalfLambdaTimesTheSumOfSquaresOfTheSelection()
    {
        using var module = new Mixed();

        using var penalty = new L2Regularization(lambda: 0.01).Compute(module);

        // Eq. (10–11): 0.01 · ½ · (1² + 2² + 3² + 4²) = 0.01 · ½ · 30 = 0.15  (biases, norm, embeddings excluded)
        penalty.item<float>().Should().BeApproximately(0.15f, 1e-6f);
    }

    [Fact]
    public void APredicateChangesTheSelection()
    {
        using var module = new Mixed();
        var l2 = new L2Regularization(lambda: 0.1, selection: (name, _) => name.StartsWith("fc.", StringComparison.Ordinal));

        using var penalty = l2.Compute(module);

        // 0.1 · ½ · (30 + 10² + 20²) = 0.1 · ½ · 530 = 26.5
        penalty.item<float>().Should().BeApproximately(26.5f, 1e-4f);
    }

    [Fact]
    public void ItsGradientIsLambdaTimesTheParameter()
    {
        using var module = new Mixed();

        using var penalty = new L2Regularization(lambda: 0.5).Compute(module);
        penalty.backward();

        var parameters = module.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        parameters["fc.weight"].grad!.data<float>().ToArray().Should().Equal(0.5f, 1f, 1.5f, 2f);
        parameters["fc.bias"].grad.Should().BeNull();
    }

    [Fact]
    public void AppliedToAComposedLossItIsReportedAsItsOwnPenalty()
    {
        using var module = new Mixed();
        using var task = tensor(1f);
        var loss = new WeightedSum().Compose(new Dictionary<string, Tensor> { ["a"] = task }, LossContext.None);

        new L2Regularization().ApplyTo(loss, module);

        loss.Penalties[L2Regularization.PenaltyName].Should().BeApproximately(0.15, 1e-6);
        loss.TotalValue.Should().BeApproximately(1.15, 1e-6);
    }

    [Fact]
    public void LambdaZeroAddsNothingAndNegativeLambdaIsRejected()
    {
        using var module = new Mixed();
        using var task = tensor(1f);
        var loss = new WeightedSum().Compose(new Dictionary<string, Tensor> { ["a"] = task }, LossContext.None);

        new L2Regularization(0).ApplyTo(loss, module);
        var negative = () => new L2Regularization(-0.01);

        loss.Penalties.Should().BeEmpty();
        negative.Should().Throw<ArgumentOutOfRangeException>().WithMessage("L2 coefficient λ_reg must be a finite number >= 0 (paper: 0.01).*");
    }
}
