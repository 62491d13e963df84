using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Losses;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses;

public class WeightedSumTests
{
    [Fact]
    public void DefaultWeightsAreOneAsInThePaper()
    {
        var composer = new WeightedSum();
        using var a = tensor(0.5f);
        using var b = tensor(1.5f);

        var loss = composer.Compose(new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b }, LossContext.None);

        // Eq. (6) with λ = 1: 0.5 + 1.5 = 2
        loss.Total.item<float>().Should().BeApproximately(2f, 1e-6f);
        loss.Weights.Should().Equal(new Dictionary<string, double> { ["a"] = 1, ["b"] = 1 });
        loss.TaskLosses["a"].Should().BeApproximately(0.5, 1e-7);
        loss.TaskLosses["b"].Should().BeApproximately(1.5, 1e-7);
    }

    [Fact]
    public void ConfiguredWeightsMultiplyTheirTasks()
    {
        var composer = new WeightedSum(new TaskCatalog(
            new TaskDefinition("a", TaskKind.Classification, LossWeight: 2),
            new TaskDefinition("b", TaskKind.Regression, LossWeight: 0.25)));
        using var a = tensor(0.5f);
        using var b = tensor(4f);

        var loss = composer.Compose(new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b }, LossContext.None);

        // 2·0.5 + 0.25·4 = 2
        loss.TotalValue.Should().BeApproximately(2.0, 1e-6);
        loss.Weights["a"].Should().Be(2);
        loss.Weights["b"].Should().Be(0.25);
    }

    [Fact]
    public void OnlyTheTasksPresentInTheBatchAreCombined()
    {
        var composer = new WeightedSum(new Dictionary<string, double> { ["a"] = 3, ["b"] = 5 });
        using var b = tensor(0.2f);

        var loss = composer.Compose(new Dictionary<string, Tensor> { ["b"] = b }, LossContext.None);

        loss.Total.item<float>().Should().BeApproximately(1.0f, 1e-6f);
        loss.Tasks.Should().Equal("b");
        loss.Weights.Keys.Should().Equal("b");
    }

    [Fact]
    public void GradientsFlowWithTheirWeights()
    {
        var composer = new WeightedSum(new Dictionary<string, double> { ["a"] = 3 });
        using var x = tensor(2f, requires_grad: true);
        using var a = x * x;

        composer.Compose(new Dictionary<string, Tensor> { ["a"] = a }, LossContext.None).Backward();

        // d(3x²)/dx at 2 = 12
        x.grad!.item<float>().Should().BeApproximately(12f, 1e-6f);
    }

    [Fact]
    public void AnEmptyBatchAndNonScalarLossesAreRejected()
    {
        var composer = new WeightedSum();
        using var vector = zeros(3);

        var empty = () => composer.Compose(new Dictionary<string, Tensor>(), LossContext.None);
        var notScalar = () => composer.Compose(new Dictionary<string, Tensor> { ["a"] = vector }, LossContext.None);

        empty.Should().Throw<ArgumentException>().WithMessage("WeightedSum: no task losses to compose*");
        notScalar.Should().Throw<ArgumentException>().WithMessage("WeightedSum: the loss of task 'a' must be a floating-point 0-dim tensor; got [3] Float32*");
    }

    [Fact]
    public void NegativeWeightsAreRejected()
    {
        var act = () => new WeightedSum(new Dictionary<string, double> { ["a"] = -1 });

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("Loss weight of task 'a' must be a finite number >= 0.*");
    }

    [Fact]
    public void PenaltiesAddToTheTotalAndTheReport()
    {
        using var a = tensor(1f);
        using var penalty = tensor(0.25f);

        var loss = new WeightedSum().Compose(new Dictionary<string, Tensor> { ["a"] = a }, LossContext.None).AddPenalty("l2", penalty);

        loss.TotalValue.Should().BeApproximately(1.25, 1e-7);
        loss.Penalties.Should().Equal(new Dictionary<string, double> { ["l2"] = 0.25 });
        loss.ToString().Should().Be("total=1.25 a=1(w=1) l2=0.25");
        var twice = () => loss.AddPenalty("l2", penalty);
        twice.Should().Throw<ArgumentException>().WithMessage("Penalty 'l2' was already added*");
    }
}
