using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Inference;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Integration;

public sealed class RegressionStatisticsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_configured_multi_output_regression_is_normalised_per_output_with_the_training_splits_statistics()
    {
        var output = _dir.Combine("run");
        var configuration = SpatialNetConfiguration.FromJson($$"""
            {
              "output_dir": "{{output.Replace("\\", "/", StringComparison.Ordinal)}}",
              "threads": 1,
              "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [ { "name": "counts", "kind": "regression", "target": ["count_building", "count_tree"], "head": { "outputs": 2 } } ],
              "loss": { "l2_lambda": 0.0 },
              "trainer": { "seed": 2, "epochs": 1, "show_progress": false, "write_charts": false },
              "data": { "batch_size": 8, "sources": [ { "kind": "synthetic", "train_count": 16, "val_count": 4 } ], "flip": false, "rotate90": false }
            }
            """);
        TrainingPipeline.Run(configuration);

        // Expected: each target's mean and population standard deviation over the training split, by hand from the samples.
        var config = TrainingRunOptions.Bind(configuration);
        var source = OpenedSource.Open(config.Data.Sources[0], 0, config.Model.ImageSize, config.Model.InChannels, config.Seed);
        var train = source.Split("train")!;
        double[] Column(string key) => Enumerable.Range(0, train.Count).Select(i =>
        {
            using var sample = train.GetSample(i);
            return (double)sample[key].to(ScalarType.Float64).item<double>();
        }).ToArray();
        var columns = new[] { Column("count_building"), Column("count_tree") };
        var means = columns.Select(c => c.Average()).ToArray();
        var stds = columns.Select((c, k) => Math.Sqrt(c.Sum(x => (x - means[k]) * (x - means[k])) / c.Length)).ToArray();
        means[0].Should().NotBe(means[1], "the fixture needs outputs with different statistics");

        using var predictor = Predictor.Open(output);
        var head = (RegressionHead)predictor.Model.Head("counts");

        head.TargetMeans.Should().HaveCount(2);
        for (int k = 0; k < 2; k++)
        {
            head.TargetMeans[k].Should().BeApproximately(means[k], 1e-9, $"output {k}");
            head.TargetStds[k].Should().BeApproximately(stds[k], 1e-9, $"output {k}");
        }
    }
}
