using FluentAssertions;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using SpatialNet.Training.Workflow;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Integration;

[Collection(TorchGlobalRngCollection.Name)]
public sealed class TrainingPipelineTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private TrainingConfig Tiny(string name, params DataSourceConfig[] sources) => new()
    {
        Seed = 3,
        OutputDir = _dir.Combine(name),
        Threads = 1,
        ShowProgress = false,
        WriteCharts = false,
        Model = new ModelConfig { ImageSize = 32, PatchSize = 16, EmbedDim = 16, Depth = 1, NumHeads = 2 },
        Tasks =
        [
            new TaskConfig { Name = "land_cover", Kind = "classification" },
            new TaskConfig { Name = "building_count", Kind = "regression", Pooling = "mean" },
        ],
        Loss = new LossConfig { L2 = 0 },
        Optimizer = new OptimizerConfig { LearningRate = 3e-3 },
        Epochs = 1,
        BatchSize = 8,
        Data = new DataConfig { Sources = [.. sources] },
    };

    [Fact]
    public void BatchesFromTwoSources_TrainOnlyTheTasksEachSourceServes()
    {
        // Source A (land cover only) and source B (counts only), interleaved 1 : 1.
        var config = Tiny("two",
            new DataSourceConfig { Kind = "synthetic", TrainCount = 16, ValCount = 8, GeneratorSeed = 1, Targets = new() { ["land_cover"] = ["label"] } },
            new DataSourceConfig { Kind = "synthetic", TrainCount = 16, ValCount = 8, GeneratorSeed = 2, Targets = new() { ["building_count"] = ["count_building"] } });

        var run = TrainingPipeline.Run(config);

        var steps = run.Training.History.Steps;
        steps.Should().HaveCount(4, "⌈16/8⌉ batches from each source");
        steps.Count(s => s.Losses.ContainsKey("land_cover/loss")).Should().Be(2);
        steps.Count(s => s.Losses.ContainsKey("building_count/loss")).Should().Be(2);
        steps.Should().OnlyContain(s => s.Losses.ContainsKey("land_cover/loss") != s.Losses.ContainsKey("building_count/loss"));
        // A step's total is the weighted sum of the tasks present only (weights 1, no L2).
        foreach (var s in steps)
            s.Losses["loss"].Should().BeApproximately(s.Losses.GetValueOrDefault("land_cover/loss") + s.Losses.GetValueOrDefault("building_count/loss"), 1e-6);
        // Each task is evaluated on its own source's validation split.
        run.Report.Result.Tasks.Select(t => (t.Task.Name, t.Samples)).Should().Equal(("land_cover", 8), ("building_count", 8));
    }

    [Fact]
    public void TheTrainingBatchSource_CanBeWrapped_ForACacheOrPrefetcher()
    {
        var config = Tiny("wrapped", new DataSourceConfig { Kind = "synthetic", TrainCount = 16, ValCount = 8 });
        config.Tasks[0].Target = ["label"];
        config.Tasks[1].Target = ["count_building"];
        CountingSource? wrapper = null;

        var run = TrainingPipeline.Run(config, options: new TrainingPipelineOptions { WrapTrainingBatches = s => wrapper = new CountingSource(s) });

        wrapper.Should().NotBeNull();
        wrapper!.Batches.Should().Be(2);
        run.Training.GlobalStep.Should().Be(2);
        File.Exists(run.ReportJson).Should().BeTrue();
    }

    [Fact]
    public void Prefetching_GivesTheSameRun_AndTheDeviceCacheTrainsEveryTask()
    {
        TrainingConfig Config(string name)
        {
            var c = Tiny(name, new DataSourceConfig { Kind = "synthetic", TrainCount = 16, ValCount = 8 });
            c.Tasks[0].Target = ["label"];
            c.Tasks[1].Target = ["count_building"];
            c.Epochs = 2;
            return c;
        }

        var plain = TrainingPipeline.Run(Config("plain"));
        var prefetching = Config("prefetch");
        prefetching.Data.Prefetch = 2;
        var ahead = TrainingPipeline.Run(prefetching);
        ahead.Training.History.Steps.Select(s => s.Losses).Should().BeEquivalentTo(plain.Training.History.Steps.Select(s => s.Losses),
            o => o.WithStrictOrdering(), "the prefetcher yields exactly the source's batches");

        var cached = Config("cache");
        cached.Data.DeviceCache = true;
        var fromCache = TrainingPipeline.Run(cached);
        fromCache.Training.History.Steps.Should().HaveCount(4);
        fromCache.Training.History.Steps.Should().OnlyContain(s => s.Losses.ContainsKey("land_cover/loss") && s.Losses.ContainsKey("building_count/loss"));
        fromCache.Report.Result.Tasks.Should().HaveCount(2);

        var rsvqa = Config("bad");
        rsvqa.Data.DeviceCache = true;
        rsvqa.Data.Sources.Add(new DataSourceConfig { Kind = "synthetic" });
        FluentActions.Invoking(() => TrainingPipeline.Run(rsvqa)).Should().Throw<TrainingConfigException>().WithMessage("*data.device_cache*one source*");
    }

    private sealed class CountingSource(DatasetBatchSource inner) : IBatchSource
    {
        public int Batches { get; private set; }

        public int BatchesPerEpoch => inner.BatchesPerEpoch;

        public IEnumerable<IReadOnlyDictionary<string, Tensor>> GetBatches(int epoch, int startBatch = 0)
        {
            foreach (var b in inner.GetBatches(epoch, startBatch))
            {
                Batches++;
                yield return b;
            }
        }
    }
}
