using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Losses;
using SpatialNet.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Models;

/// <summary>Tests that read TorchSharp's per-thread tensor statistics run alone.</summary>
[CollectionDefinition(nameof(DisposeStatisticsCollection), DisableParallelization = true)]
public sealed class DisposeStatisticsCollection;

[Collection(nameof(DisposeStatisticsCollection))]
public class TrainingMemoryTests
{
    public static TheoryData<string> Composers => new()
    {
        "weighted_sum", "uncertainty", "dwa", "pcgrad", "gradnorm",
        "upgrad", "dualproj", "mgda", "cagrad", "imtl_g", "aligned_mtl", "con_fig", "gradvac", "graddrop", "fairgrad", "nash_mtl",
        "excess_mtl", "moco", "db_mtl", "imtl_l", "rlw", "gls", "famo", "stch",
    };

    private static ILossComposer CreateComposer(string name, TaskCatalog tasks) => name switch
    {
        "weighted_sum" => new WeightedSum(tasks),
        "uncertainty" => new UncertaintyWeighting(tasks),
        "dwa" => new DynamicWeightAverage(),
        "pcgrad" => new PCGrad(tasks),
        "gradnorm" => new GradNorm(tasks),
        "imtl_l" => new ImtlL(tasks),
        "rlw" => new RandomLossWeighting(),
        "gls" => new GeometricLossStrategy(),
        "famo" => new Famo(),
        "stch" => new SmoothTchebycheff(),
        _ => new SpatialNet.Losses.GradientComposer(name, SpatialNet.Core.Tests.Losses.Gradients.TorchJDValuesTests.Create(name), tasks),
    };

    [Theory]
    [MemberData(nameof(Composers))]
    public void HundredTrainingStepsLeaveNoLiveTensorsBehind(string composerName)
    {
        manual_seed(1);
        using var model = TinyModels.Create();
        var tasks = new TaskCatalog(model.TaskNames.Select(t => new TaskDefinition(t, model.Head(t).Kind)));
        var composer = CreateComposer(composerName, tasks);
        var l2 = new L2Regularization();
        var parameters = model.parameters().Concat(composer.AsModule()?.parameters() ?? []).ToList();
        using var optimizer = optim.Adam(parameters, lr: 1e-3);
        var shared = model.SharedParameters();
        double lastLoss = 0;

        void Step(int step)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var (images, targets) = TinyModels.Batch();
            // Alternate batches carrying all tasks and only two, as from different datasets.
            if (step % 2 == 1)
            {
                targets.Remove("objects");
            }

            var predictions = model.Forward(images, tasks: targets.Keys);
            var loss = composer.Compose(model.Losses(predictions, targets), new LossContext { Step = step, SharedParameters = shared });
            l2.ApplyTo(loss, model);
            loss.Backward();
            optimizer.step();
            lastLoss = loss.TotalValue; // reading the report must not leak either
        }

        // The first step creates the optimizer's state; count from after it.
        Step(0);
        composer.OnEpochEnd();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        for (int step = 1; step <= 100; step++)
        {
            Step(step);
            if (step % 25 == 0)
            {
                composer.OnEpochEnd();
            }
        }

        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        after.Should().Be(before, $"every tensor made during 100 steps with {composerName} must be disposed");
        double.IsFinite(lastLoss).Should().BeTrue();
        (composer as IDisposable)?.Dispose();
    }
}
