using SpatialNet.Training.Batching;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Synthetic;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Integration;

[Collection(TorchGlobalRngCollection.Name)]
public sealed class TrainingPipelineTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // A tiny two-task run; each source is JSON of data:sources.
    private IConfigurationRoot Tiny(string name, string[] sources, params string[] sets) => SpatialNetConfiguration.FromJson($$"""
        {
          "output_dir": "{{_dir.Combine(name).Replace("\\", "/", StringComparison.Ordinal)}}",
          "threads": 1,
          "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
          "tasks": [
            { "name": "land_cover", "kind": "classification" },
            { "name": "building_count", "kind": "regression", "head": { "pooling": "mean" } }
          ],
          "loss": { "l2_lambda": 0 },
          "trainer": { "seed": 3, "learning_rate": 0.003, "epochs": 1, "show_progress": false, "write_charts": false },
          "data": { "batch_size": 8, "sources": [ {{string.Join(", ", sources)}} ] }
        }
        """, overrides: sets);

    [Fact]
    public void BatchesFromTwoSources_TrainOnlyTheTasksEachSourceServes()
    {
        // Source A (land cover only) and source B (counts only), interleaved 1 : 1.
        var config = Tiny("two",
        [
            """{ "kind": "synthetic", "train_count": 16, "val_count": 8, "generator_seed": 1, "targets": { "land_cover": "label" } }""",
            """{ "kind": "synthetic", "train_count": 16, "val_count": 8, "generator_seed": 2, "targets": { "building_count": "count_building" } }""",
        ]);

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
        // One description per task: head options with the data's sizes, labels and training statistics.
        var landCover = run.Report.Result.Tasks[0].Task;
        landCover.Head.Should().BeOfType<ClassificationHeadOptions>().Which.NumClasses.Should().Be(SyntheticSceneGenerator.LandCoverClasses.Count);
        landCover.Labels.Should().Equal(SyntheticSceneGenerator.LandCoverClasses);
        landCover.Statistics!.Count.Should().Be(16, "source A's training split");
        var counts = run.Report.Result.Tasks[1].Task;
        counts.Head.Should().BeOfType<RegressionHeadOptions>().Which.Pooling.Should().Be(PoolingKind.Mean);
        counts.Statistics!.Count.Should().Be(16, "source B's training split");
        counts.Inputs.Should().BeEmpty("image heads read only the tokens");
    }

    [Fact]
    public void AHost_ReplacesTheBatchSourceFactory_ToWrapTheTrainingBatches()
    {
        var config = Tiny("wrapped", [Synthetic], "tasks:0:target=label", "tasks:1:target=count_building");
        var factory = new CountingFactory();
        using var services = new ServiceCollection()
            .AddSpatialNetTraining(config)
            .AddSingleton<IBatchSourceFactory>(factory)
            .BuildServiceProvider();

        var run = services.GetRequiredService<TrainingPipeline>().Run();

        factory.Source.Should().NotBeNull();
        factory.Source!.Batches.Should().Be(2, "16 training scenes in batches of 8, one epoch");
        run.Training.GlobalStep.Should().Be(2);
        File.Exists(run.ReportJson).Should().BeTrue();
    }

    [Fact]
    public void Prefetching_GivesTheSameRun_AndTheDeviceCacheTrainsEveryTask()
    {
        IConfigurationRoot Config(string name, params string[] sets) =>
            Tiny(name, [Synthetic], ["tasks:0:target=label", "tasks:1:target=count_building", "trainer:epochs=2", .. sets]);

        var plain = TrainingPipeline.Run(Config("plain"));
        var ahead = TrainingPipeline.Run(Config("prefetch", "data:prefetch=2"));
        ahead.Training.History.Steps.Select(s => s.Losses).Should().BeEquivalentTo(plain.Training.History.Steps.Select(s => s.Losses),
            o => o.WithStrictOrdering(), "the prefetcher yields exactly the source's batches");

        var fromCache = TrainingPipeline.Run(Config("cache", "data:device_cache=true"));
        fromCache.Training.History.Steps.Should().HaveCount(4);
        fromCache.Training.History.Steps.Should().OnlyContain(s => s.Losses.ContainsKey("land_cover/loss") && s.Losses.ContainsKey("building_count/loss"));
        fromCache.Report.Result.Tasks.Should().HaveCount(2);

        var twoSources = Config("bad", "data:device_cache=true", "data:sources:1:kind=synthetic");
        FluentActions.Invoking(() => TrainingPipeline.Run(twoSources)).Should().Throw<ConfigurationException>().WithMessage("*data:device_cache*one source*");
    }

    private const string Synthetic = """{ "kind": "synthetic", "train_count": 16, "val_count": 8 }""";

    private sealed class CountingFactory : IBatchSourceFactory
    {
        public CountingSource? Source { get; private set; }

        public IBatchSource CreateTraining(DatasetBatchSource batches, int prefetch) => Source = new CountingSource(batches);
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
