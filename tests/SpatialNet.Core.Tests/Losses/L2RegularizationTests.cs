using FluentAssertions;
using SpatialNet.Losses;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses;

public class L2RegularizationTests
{
    /// <summary>A module with one parameter of every kind the default selection must tell apart.</summary>
    private sealed class Mixed : nn.Module<Tensor, Tensor>
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
