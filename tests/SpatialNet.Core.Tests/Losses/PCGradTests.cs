using FluentAssertions;
using SpatialNet.Losses;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses;

public class PCGradTests
{
    [Fact]
    public void ConflictingGradientsAreProjectedOntoEachOthersNormalPlane()
    {
        // Shared θ = (θ1, θ2); head parameter h used by task 1 only.
        // L1 = 2θ1 + h  → g1 = (2, 0);  L2 = −θ1 + θ2 → g2 = (−1, 1);  g1·g2 = −2 < 0 (conflict).
        // g1' = g1 − (g1·g2/‖g2‖²)·g2 = (2, 0) − (−2/2)·(−1, 1) = (1, 1)
        // g2' = g2 − (g2·g1/‖g1‖²)·g1 = (−1, 1) − (−2/4)·(2, 0) = (0, 1)
        // shared gradient = g1' + g2' = (1, 2)   (the plain sum would be (1, 1)); h keeps ∂L1/∂h = 1.
        using var theta = new Parameter(tensor(new float[] { 0.3f, -0.7f }));
        using var h = new Parameter(tensor(0.5f));
        using var l1 = 2 * theta[0] + h;
        using var l2 = -theta[0] + theta[1];
        var context = new LossContext { SharedParameters = [theta] };

        var loss = new PCGrad().Compose(new Dictionary<string, Tensor> { ["t1"] = l1, ["t2"] = l2 }, context);
        loss.Backward();

        theta.grad!.data<float>().ToArray().Should().Equal(1f, 2f);
        h.grad!.item<float>().Should().Be(1f);
        loss.TotalValue.Should().BeApproximately(2 * 0.3 + 0.5 - 0.3 - 0.7, 1e-6);
    }

    [Fact]
    public void GradientsThatDoNotConflictAreLeftAsTheirSum()
    {
        // g1 = (1, 0), g2 = (1, 1): g1·g2 = 1 ≥ 0 → no projection; sum (2, 1).
        using var theta = new Parameter(tensor(new float[] { 1f, 1f }));
        using var l1 = theta[0] * 1;
        using var l2 = theta[0] + theta[1];
        var context = new LossContext { SharedParameters = [theta] };

        new PCGrad().Compose(new Dictionary<string, Tensor> { ["t1"] = l1, ["t2"] = l2 }, context).Backward();

        theta.grad!.data<float>().ToArray().Should().Equal(2f, 1f);
    }

    [Fact]
    public void TaskWeightsScaleTheGradientsBeforeProjection()
    {
        // λ1 = 0.5: g1 = 0.5·(2, 0) = (1, 0); g2 = (−1, 1); g1·g2 = −1.
        // g1' = (1, 0) − (−1/2)(−1, 1) = (0.5, 0.5);  g2' = (−1, 1) − (−1/1)(1, 0) = (0, 1);  sum (0.5, 1.5)
        using var theta = new Parameter(tensor(new float[] { 0f, 0f }));
        using var l1 = 2 * theta[0];
        using var l2 = -theta[0] + theta[1];
        var context = new LossContext { SharedParameters = [theta] };

        new PCGrad(new Dictionary<string, double> { ["t1"] = 0.5 })
            .Compose(new Dictionary<string, Tensor> { ["t1"] = l1, ["t2"] = l2 }, context).Backward();

        var grad = theta.grad!.data<float>().ToArray();
        grad[0].Should().BeApproximately(0.5f, 1e-6f);
        grad[1].Should().BeApproximately(1.5f, 1e-6f);
    }

    [Fact]
    public void WithoutSharedParametersItSaysWhatItNeeds()
    {
        using var l1 = tensor(1f, requires_grad: true);

        var act = () => new PCGrad().Compose(new Dictionary<string, Tensor> { ["t1"] = l1 }, LossContext.None);

        act.Should().Throw<ArgumentException>().WithMessage("PCGrad needs LossContext.SharedParameters*");
    }
}
