using FluentAssertions;
using SpatialNet.Losses;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Losses.Gradients;

/// <summary>
/// The values TorchJD v0.17.0's own unit tests assert (tests/unit/aggregation/test_values.py, rounded
/// as published, tolerance 1e-4) on J_base = [[−4, 1, 1], [6, 1, 1]] and its Gramian
/// G_base = [[18, −22], [−22, 38]].
/// </summary>
public class TorchJDValuesTests
{
    private static readonly double[][] JBase = [[-4, 1, 1], [6, 1, 1]];

    private static double[,] Gramian(double[][] j)
    {
        var g = new double[j.Length, j.Length];
        for (int a = 0; a < j.Length; a++)
            for (int b = 0; b < j.Length; b++)
                g[a, b] = j[a].Zip(j[b], (x, y) => x * y).Sum();
        return g;
    }

    internal static GradientAggregator Create(string name) => name switch
    {
        "upgrad" => new UPGradAggregator(),
        "dualproj" => new DualProjAggregator(),
        "mgda" => new MgdaAggregator(),
        "imtl_g" => new ImtlGAggregator(),
        "cagrad" => new CaGradAggregator(c: 0.5),
        "aligned_mtl" => new AlignedMtlAggregator(),
        "con_fig" => new ConFigAggregator(),
        "pcgrad" => new PCGradAggregator(0),
        "gradvac" => new GradVacAggregator(),
        "fairgrad" => new FairGradAggregator(alpha: 1),
        "nash_mtl" => new NashMtlAggregator(),
        "excess_mtl" => new ExcessMtlAggregator(),
        "graddrop" => new GradDropAggregator(),
        "moco" => new MocoAggregator(),
        "db_mtl" => new DbMtlAggregator(),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    // Weighting(G_base) values, where TorchJD's tests state them.
    [Theory]
    [InlineData("upgrad", 1.1109, 0.7894)]
    [InlineData("dualproj", 0.6109, 0.5)]
    [InlineData("mgda", 0.6, 0.4)]
    [InlineData("imtl_g", 0.5923, 0.4077)]
    [InlineData("cagrad", 0.7041, 0.5)]
    [InlineData("aligned_mtl", 0.5591, 0.4083)]
    [InlineData("pcgrad", 2.2222, 1.5789)]
    [InlineData("gradvac", 2.2222, 1.5789)]
    [InlineData("fairgrad", 0.5915, 0.4071)]
    public void WeightsOfGBase_AreTorchJDs(string name, double w0, double w1)
    {
        var weights = Create(name).Weights(GradientStep.Of(Gramian(JBase)));

        weights.Should().HaveCount(2);
        weights[0].Should().BeApproximately(w0, 1e-4);
        weights[1].Should().BeApproximately(w1, 1e-4);
    }

    // Aggregator(J_base) values: wᵀJ through the whole backward path, in float64.
    [Theory]
    [InlineData("upgrad", 0.2929, 1.9004)]
    [InlineData("dualproj", 0.5563, 1.1109)]
    [InlineData("mgda", 0.0, 1.0)]
    [InlineData("imtl_g", 0.0767, 1.0)]
    [InlineData("cagrad", 0.1835, 1.2041)]
    [InlineData("aligned_mtl", 0.2133, 0.9673)]
    [InlineData("con_fig", 0.1588, 2.0706)]
    [InlineData("pcgrad", 0.5848, 3.8012)]
    [InlineData("gradvac", 0.5848, 3.8012)]
    [InlineData("fairgrad", 0.0766, 0.9985)]
    [InlineData("nash_mtl", 0.0542, 0.7061)]
    public void UpdateOfJBase_IsTorchJDs_ThroughBackwardInFloat64(string name, double first, double rest)
    {
        using var scope = NewDisposeScope();
        using var theta = new Parameter(zeros(3, dtype: ScalarType.Float64));
        var losses = new Dictionary<string, Tensor>
        {
            ["a"] = (theta * tensor(JBase[0], dtype: ScalarType.Float64)).sum(),
            ["b"] = (theta * tensor(JBase[1], dtype: ScalarType.Float64)).sum(),
        };
        var composer = new GradientComposer(name, Create(name));

        var loss = composer.Compose(losses, new LossContext { SharedParameters = [theta] });
        loss.Backward();

        theta.grad!.dtype.Should().Be(ScalarType.Float64);
        var update = theta.grad!.data<double>().ToArray();
        update[0].Should().BeApproximately(first, 1e-4);
        update[1].Should().BeApproximately(rest, 1e-4);
        update[2].Should().BeApproximately(rest, 1e-4);
        // The reported weights are the combination applied: wᵀJ reproduces the update to double precision.
        var w = loss.Weights;
        for (int e = 0; e < 3; e++)
            (w["a"] * JBase[0][e] + w["b"] * JBase[1][e]).Should().BeApproximately(update[e], 1e-12);
    }
}
