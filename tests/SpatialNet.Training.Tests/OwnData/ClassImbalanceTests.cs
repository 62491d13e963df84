using System.Text.Json.Nodes;
using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Training.Batching;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using Xunit;

namespace SpatialNet.Training.Tests.OwnData;

/// <summary>Class weights checked against the data's classes, "balanced" weights, and the class-balanced sampler.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class ClassImbalanceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // 10, 5 and 15 chips; val_fraction 0.2 keeps round(8.0) = 8, round(4.0) = 4 and round(12.0) = 12 for training.
    private Microsoft.Extensions.Configuration.IConfigurationRoot Config(string name, params string[] sets)
    {
        var chips = _dir.Combine("chips");
        if (!Directory.Exists(chips))
            ChipFolder.Write(chips, ["a", "b", "c"], [10, 5, 15], 32, 3, 8, (k, i, c, y, x) => (k * 70 + c * 5 + i + x) % 256);
        return SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. ImageFolderRunTests.Small(_dir.Combine(name)), $"data:sources:0:path={chips}", "data:sources:0:test_fraction=0", .. sets], environment: false);
    }

    [Fact]
    public void Balanced_class_weights_are_n_over_classes_times_count_of_the_training_split()
    {
        var run = TrainingPipeline.Run(Config("balanced", "tasks:0:head:class_weights=balanced", "data:sampler=class_balanced"));

        // scikit-learn's compute_class_weight("balanced"): n / (C · n_c) with n = 24, C = 3, n_c = 8, 4, 12 → 1, 2, 2/3.
        double[] expected = [1.0, 2.0, 2.0 / 3.0];
        var head = run.Report.Result.Tasks[0].Task.Head.Should().BeOfType<ClassificationHeadOptions>().Subject;
        head.ClassWeights.Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-12);
        var recorded = JsonNode.Parse(File.ReadAllText(Path.Combine(run.OutputDirectory, "data.json")))!["tasks"]![0]!["class_weights"]!.AsArray();
        recorded.Select(v => v!.GetValue<double>()).Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-12);
        run.Training.GlobalStep.Should().Be(3, "the class-balanced sampler draws as many samples as the split has: ⌈24/8⌉ batches");
    }

    [Fact]
    public void Explicit_class_weights_need_one_weight_per_class_folder_without_num_classes()
    {
        var run = TrainingPipeline.Run(Config("three", "tasks:0:head:class_weights:0=1", "tasks:0:head:class_weights:1=2", "tasks:0:head:class_weights:2=0.5"));
        run.Report.Result.Tasks[0].Task.Head.Should().BeOfType<ClassificationHeadOptions>().Which.ClassWeights.Should().Equal(1.0, 2.0, 0.5);

        FluentActions.Invoking(() => TrainingPipeline.Run(Config("two", "tasks:0:head:class_weights:0=1", "tasks:0:head:class_weights:1=2")))
            .Should().Throw<ConfigurationException>().Which.Message.Should()
            .Contain("tasks:0:head:class_weights = [1, 2]").And.Contain("2 weights").And.Contain("3 classes (a, b, c)");
    }

    [Fact]
    public void Balanced_weights_refuse_a_class_without_training_samples()
    {
        FluentActions.Invoking(() => TrainingPipeline.BalancedWeights([3, 0, 1], c => "abc"[c].ToString(), "tasks:0"))
            .Should().Throw<ConfigurationException>().Which.Message.Should().Contain("class 'b'");
    }

    [Fact]
    public void The_weighted_sampler_draws_each_class_about_equally_and_never_a_zero_weight_sample()
    {
        // 900 samples of class 0, 100 of class 1: weights 1/900 and 1/100, so each class has probability 1/2 per draw.
        long[] labels = [.. Enumerable.Repeat(0L, 900), .. Enumerable.Repeat(1L, 100)];
        var weights = TrainingPipeline.SampleWeightsOf(labels);
        var loader = new DataLoader(new ListDataset("imbalanced", 1000), 100, seed: 5) { SampleWeights = weights };

        var drawn = loader.EpochIndices(0).SelectMany(b => b).ToArray();

        drawn.Should().HaveCount(1000);
        // Binomial(1000, 0.5): standard deviation 15.8, so 400–600 is more than six of them either side.
        drawn.Count(i => labels[i] == 1).Should().BeInRange(400, 600);
        loader.EpochIndices(0).SelectMany(b => b).Should().Equal(drawn, "the same (seed, epoch) gives the same draw");
        loader.EpochIndices(1).SelectMany(b => b).Should().NotEqual(drawn);

        var zero = new DataLoader(new ListDataset("z", 4), 2, seed: 1) { SampleWeights = [0, 1, 0, 3] };
        zero.EpochIndices(0).SelectMany(b => b).Should().OnlyContain(i => i == 1 || i == 3);
        FluentActions.Invoking(() => new DataLoader(new ListDataset("z", 4), 2) { SampleWeights = [1, 1] }).Should().Throw<ArgumentException>();
    }
}
