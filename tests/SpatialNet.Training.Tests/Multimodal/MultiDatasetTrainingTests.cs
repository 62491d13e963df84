using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Losses;
using SpatialNet.Training.Data;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Transforms;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Multimodal;

/// <summary>One model across UCM-caption and RSVQA: interleaved batches, and a loss composer that sees only the tasks a batch carries.</summary>
public sealed class MultiDatasetTrainingTests(SyntheticMultimodalFixture data) : IClassFixture<SyntheticMultimodalFixture>
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> UcmTargets =
        new Dictionary<string, IReadOnlyList<string>> { ["land_use"] = [SampleKeys.Label], ["caption"] = [SampleKeys.Caption] };

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> RsvqaTargets =
        new Dictionary<string, IReadOnlyList<string>> { ["vqa"] = [SampleKeys.Answer] };

    private DatasetBatchSource Source(double ucmShare, double rsvqaShare, int batchSize, int? batchesPerEpoch = null) =>
        new(new MultiDatasetLoader([data.Ucm("train"), data.Rsvqa("train")], [ucmShare, rsvqaShare], batchSize, seed: 7, batchesPerEpoch),
            [new DatasetBatchPreparation { Targets = UcmTargets, Transform = new ToFloat() }, new DatasetBatchPreparation { Targets = RsvqaTargets, Transform = new ToFloat() }]);

    /// <summary>Records what the composer is given and what it returns, around the paper's weighted sum.</summary>
    private sealed class RecordingComposer(ILossComposer inner) : ILossComposer
    {
        public List<(string[] Tasks, Dictionary<string, double> Losses, double Total)> Calls { get; } = [];

        public string Name => "recording";

        public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
        {
            var composed = inner.Compose(taskLosses, context);
            Calls.Add((taskLosses.Keys.Order(StringComparer.Ordinal).ToArray(),
                taskLosses.ToDictionary(l => l.Key, l => (double)l.Value.item<float>()), composed.Total.item<float>()));
            return composed;
        }
    }

    [Fact]
    public void The_composer_combines_only_the_tasks_present_in_each_interleaved_batch()
    {
        using var model = data.CreateModel(seed: 11);
        var weights = new Dictionary<string, double> { ["land_use"] = 1.0, ["caption"] = 0.5, ["vqa"] = 2.0 };
        var composer = new RecordingComposer(new WeightedSum(weights));
        var source = Source(1, 2, batchSize: 4, batchesPerEpoch: 9);
        var plan = source.Plan(0).Select(b => b.DatasetIndex).ToArray();
        using var trainer = new Trainer(new MultiTaskTrainable(model, composer), source,
            new TrainerOptions { Epochs = 1, LearningRate = 1e-3, WriteCharts = false, ShowProgress = false, Seed = 3 });

        trainer.Fit();

        composer.Calls.Should().HaveCount(9);
        plan.Should().Contain(0).And.Contain(1, "both datasets are interleaved in the epoch");
        for (int i = 0; i < 9; i++)
        {
            var (tasks, losses, total) = composer.Calls[i];
            tasks.Should().Equal(plan[i] == 0 ? ["caption", "land_use"] : ["vqa"], $"batch {i} comes from dataset {plan[i]}");
            // L_MTL = Σ λ_t·L_t over the batch's tasks only (paper Eq. 6): absent tasks add nothing.
            total.Should().BeApproximately(losses.Sum(l => weights[l.Key] * l.Value), 1e-4);
        }
        trainer.History.Epochs.Should().HaveCount(1);
    }

    [Fact]
    public void An_epoch_draws_each_dataset_in_its_configured_share()
    {
        var ucm = data.Ucm("train");
        var rsvqa = data.Rsvqa("train");
        // 50 sentences and 90 questions in batches of 8: ⌈50/8⌉ + ⌈90/8⌉ = 7 + 12 = 19 batches. At 1 : 3 the
        // exact shares are 4.75 and 14.25; largest remainder gives the spare batch to the first: 5 and 14.
        ucm.Count.Should().Be(50);
        rsvqa.Count.Should().Be(90);
        var source = Source(1, 3, batchSize: 8);

        using var scope = NewDisposeScope();
        var batches = source.GetBatches(0).ToList();

        batches.Should().HaveCount(19);
        batches.Count(b => b.ContainsKey("caption") && b.ContainsKey("land_use") && !b.ContainsKey("vqa")).Should().Be(5);
        batches.Count(b => b.ContainsKey("vqa") && b.ContainsKey(SampleKeys.Question) && !b.ContainsKey("land_use")).Should().Be(14);
        batches.Should().OnlyContain(b => b["image"].shape[0] == 8);
        // Every RSVQA sample is drawn once before any repeats: 14 × 8 = 112 draws cover all 90 questions.
        source.Plan(0).Where(b => b.DatasetIndex == 1).SelectMany(b => b.Indices).Take(90).Should().BeEquivalentTo(Enumerable.Range(0, 90));
    }
}
