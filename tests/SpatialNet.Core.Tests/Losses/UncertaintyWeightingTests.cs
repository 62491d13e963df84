using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Losses;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses;

public class UncertaintyWeightingTests
{
    private static TaskCatalog Tasks() => new(
        new TaskDefinition("count", TaskKind.Regression),
        new TaskDefinition("land_use", TaskKind.Classification));

    [Fact]
    public void RegressionAndClassificationUseKendallsTwoForms()
    {
        using var composer = new UncertaintyWeighting(Tasks());
        using (no_grad())
        {
            composer.LogVariances[0] = (float)Math.Log(4); // σ² = 4 for the regression task
        }

        using var count = tensor(2f);
        using var landUse = tensor(3f);

        var loss = composer.Compose(new Dictionary<string, Tensor> { ["count"] = count, ["land_use"] = landUse }, LossContext.None);

        // count (regression): ½·e^(−ln4)·2 + ½·ln4 = 0.25 + 0.6931472 = 0.9431472, weight ½·¼ = 0.125
        // land_use (classification): e^0·3 + ½·0 = 3, weight 1
        loss.TotalValue.Should().BeApproximately(3.9431472, 1e-5);
        loss.Weights["count"].Should().BeApproximately(0.125, 1e-7);
        loss.Weights["land_use"].Should().BeApproximately(1.0, 1e-7);
        loss.TaskLosses["count"].Should().BeApproximately(2.0, 1e-7);
        // The same weights as device tensors (what per-step records use, without a host read).
        using var w = loss.WeightTensor("count");
        w.dim().Should().Be(0);
        w.dtype.Should().Be(ScalarType.Float32);
        w.requires_grad.Should().BeFalse();
        w.item<float>().Should().BeApproximately(0.125f, 1e-7f);
        loss.WeightTensor("land_use").item<float>().Should().BeApproximately(1f, 1e-7f);
        FluentActions.Invoking(() => loss.WeightTensor("vqa")).Should().Throw<KeyNotFoundException>().WithMessage("*'vqa'*count, land_use*");
    }

    [Fact]
    public void ConstantWeightsAreAlsoAvailableAsTensors()
    {
        var loss = new ComposedLoss(tensor(5f), new Dictionary<string, Tensor> { ["a"] = tensor(5f) }, new Dictionary<string, double> { ["a"] = 0.25 });
        loss.WeightTensor("a").item<float>().Should().Be(0.25f);
        loss.WeightTensor("a").dtype.Should().Be(ScalarType.Float32);
    }

    [Fact]
    public void LogVariancesReceiveTheAnalyticGradient()
    {
        using var composer = new UncertaintyWeighting(Tasks());
        using (no_grad())
        {
            composer.LogVariances[0] = (float)Math.Log(4);
        }

        using var count = tensor(2f);
        using var landUse = tensor(3f);

        composer.Compose(new Dictionary<string, Tensor> { ["count"] = count, ["land_use"] = landUse }, LossContext.None).Backward();

        // d/ds[½e^(−s)L + ½s] = −½e^(−s)L + ½ = −0.25 + 0.5 = 0.25 at s = ln4, L = 2
        // d/ds[e^(−s)L + ½s]  = −e^(−s)L + ½  = −3 + 0.5 = −2.5 at s = 0, L = 3
        var grad = composer.LogVariances.grad!.data<float>().ToArray();
        grad[0].Should().BeApproximately(0.25f, 1e-6f);
        grad[1].Should().BeApproximately(-2.5f, 1e-6f);
    }

    [Fact]
    public void AbsentTasksContributeNeitherLossNorRegulariser()
    {
        using var composer = new UncertaintyWeighting(Tasks());
        using (no_grad())
        {
            composer.LogVariances[0] = 5f;
        }

        using var landUse = tensor(3f);

        var loss = composer.Compose(new Dictionary<string, Tensor> { ["land_use"] = landUse }, LossContext.None);

        loss.TotalValue.Should().BeApproximately(3.0, 1e-6);
        loss.Weights.Keys.Should().Equal("land_use");
    }

    [Fact]
    public void ExposesItsParametersAsAModuleForTheOptimizer()
    {
        using var composer = new UncertaintyWeighting(Tasks());
        ILossComposer contract = composer;

        contract.AsModule().Should().BeSameAs(composer);
        composer.named_parameters().Select(p => p.name).Should().Equal("log_vars");
        composer.LogVariances.shape.Should().Equal(2);
    }

    [Fact]
    public void AnUnknownTaskIsReportedWithTheKnownOnes()
    {
        using var composer = new UncertaintyWeighting(Tasks());
        using var other = tensor(1f);

        var act = () => composer.Compose(new Dictionary<string, Tensor> { ["caption"] = other }, LossContext.None);

        act.Should().Throw<KeyNotFoundException>()
            .WithMessage("UncertaintyWeighting has no log-variance for task 'caption'; it was built for: count, land_use.");
    }
}
