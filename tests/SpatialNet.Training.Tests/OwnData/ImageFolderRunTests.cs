using System.Text.Json.Nodes;
using FluentAssertions;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Inference;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using Xunit;

namespace SpatialNet.Training.Tests.OwnData;

/// <summary>configs/image-folder.json on a folder of class sub-folders: the splits a run carves out are recorded and reported.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class ImageFolderRunTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    internal static string[] Small(string output) =>
    [
        $"output_dir={output}", "device=cpu", "threads=1",
        "model:image_size=32", "model:patch_size=16", "model:embed_dim=16", "model:depth=1", "model:num_heads=2",
        "trainer:epochs=1", "trainer:show_progress=false", "trainer:write_charts=false", "trainer:early_stopping_patience=0",
        "data:batch_size=8",
    ];

    [Fact]
    public void The_image_folder_config_trains_and_records_where_each_split_came_from()
    {
        var chips = _dir.Combine("chips");
        ChipFolder.Write(chips, ["forest", "river", "urban"], [10, 10, 10], 32, 3, 8, (k, i, c, y, x) => (k * 80 + c * 10 + i + y + x) % 256);
        var output = _dir.Combine("run");
        var config = SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. Small(output), $"data:sources:0:path={chips}"], environment: false);

        var run = TrainingPipeline.Run(config);

        // val_fraction 0.2, test_fraction 0.1 of 10 chips per class: round(2.0) = 2 and round(1.0) = 1 per class, 7 left to train.
        var splits = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "splits.json")))!["sources"]![0]!;
        splits["kind"]!.GetValue<string>().Should().Be("image-folder");
        var files = new Dictionary<string, string[]>();
        foreach (var (split, expected) in new[] { ("train", 21), ("val", 6), ("test", 3) })
        {
            var s = splits["splits"]![split]!;
            s["samples"]!.GetValue<int>().Should().Be(expected);
            files[split] = s["files"]!.AsArray().Select(f => f!.GetValue<string>()).ToArray();
            files[split].Should().HaveCount(expected);
            foreach (var cls in new[] { "forest", "river", "urban" })
                files[split].Count(f => f.StartsWith(cls + "/", StringComparison.Ordinal)).Should().Be(expected / 3, "each class is split alike");
        }
        files.Values.SelectMany(f => f).Should().OnlyHaveUniqueItems().And.HaveCount(30, "every chip is in exactly one split");
        files.Values.SelectMany(f => f).Should().BeEquivalentTo(Directory.GetFiles(chips, "*.tif", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(chips, f).Replace('\\', '/')));

        var facts = run.Report.Run.ToDictionary(kv => kv.Key, kv => kv.Value);
        facts["val split"].Should().Contain("20% of each class").And.Contain("carved out of the training folder").And.Contain("seed 1").And.EndWith("6 samples");
        facts["train split"].Should().Contain("70% of each class").And.EndWith("21 samples");
        facts["test split"].Should().Contain("10% of each class").And.EndWith("3 samples");
        File.ReadAllText(run.ReportMarkdown).Should().Contain("carved out of the training folder");
        // The configuration's optimiser settings (configs/image-folder.json: lr 0.001, weight decay 0.05; the test's batch 8) and how to run it again.
        facts["hyperparameters"].Should().Contain("learning_rate 0.001").And.Contain("weight_decay 0.05").And.Contain("batch_size 8").And.Contain("seed 1");
        facts["reproduce"].Should().Be($"spatialnet train --config \"{Path.Combine(output, "config.json")}\" --output <new folder>");
    }

    [Fact]
    public void Crop_and_jitter_change_the_training_batches_and_repeat_with_the_seed()
    {
        var chips = _dir.Combine("chips");
        ChipFolder.Write(chips, ["a", "b"], [10, 10], 32, 3, 8, (k, i, c, y, x) => (k * 90 + c * 30 + 4 * x + i) % 256);
        double[] Losses(string name, params string[] sets) => [.. TrainingPipeline.Run(SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. Small(_dir.Combine(name)), $"data:sources:0:path={chips}", "data:sources:0:test_fraction=0", "data:flip=false", "data:rotate90=false", .. sets],
            environment: false)).Training.History.Steps.Select(s => s.Losses["loss"])];
        string[] augment = ["data:crop_scale=0.5", "data:jitter_brightness=0.3", "data:jitter_contrast=0.3"];

        var plain = Losses("plain");
        var augmented = Losses("augmented", augment);
        var again = Losses("again", augment);

        augmented.Should().NotEqual(plain, "the crops and jitter reach the model");
        again.Should().Equal(augmented, "seeded by the run's seed, batch by batch");
    }

    [Fact]
    public void Mixup_and_cutmix_change_the_training_batches_and_repeat_with_the_seed()
    {
        var chips = _dir.Combine("chips");
        ChipFolder.Write(chips, ["a", "b"], [10, 10], 32, 3, 8, (k, i, c, y, x) => (k * 90 + c * 30 + 4 * x + i) % 256);
        double[] Losses(string name, params string[] sets) => [.. TrainingPipeline.Run(SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. Small(_dir.Combine(name)), $"data:sources:0:path={chips}", "data:sources:0:test_fraction=0", "data:flip=false", "data:rotate90=false", .. sets],
            environment: false)).Training.History.Steps.Select(s => s.Losses["loss"])];
        string[] mix = ["data:mixup_alpha=0.4", "data:cutmix_alpha=1.0"];

        var plain = Losses("plain");
        var mixed = Losses("mixed", mix);
        var again = Losses("again", mix);

        mixed.Should().NotEqual(plain, "mixed images and soft targets reach the model and its loss");
        mixed.Should().OnlyContain(l => double.IsFinite(l));
        again.Should().Equal(mixed, "seeded by the run's seed, batch by batch");
    }

    [Fact]
    public void A_model_saved_with_RunFolderWriter_predicts_like_the_training_run_it_came_from()
    {
        var chips = _dir.Combine("chips");
        ChipFolder.Write(chips, ["a", "b", "c"], [6, 6, 6], 32, 3, 8, (k, i, c, y, x) => (k * 70 + c * 20 + 3 * x + y + i) % 256);
        var trained = _dir.Combine("trained");
        TrainingPipeline.Run(SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. Small(trained), $"data:sources:0:path={chips}", "data:sources:0:test_fraction=0"], environment: false));

        // The model as code holds it: built from the configuration, weights loaded, then written as a run folder.
        var run = RunFolder.Open(trained);
        var saved = _dir.Combine("saved");
        using (var model = run.CreateModel())
        {
            TrainingPipeline.LoadWeights(model, run.WeightsPath);
            var statistics = run.Sources[0].Mean is { } mean ? new NormalizationStatistics(mean, run.Sources[0].Std!) : null;
            RunFolderWriter.Save(saved, run.Configuration, model, run.Tasks.Select(t => t.Task).ToList(), statistics);
        }

        using var original = Predictor.Open(trained);
        using var copy = Predictor.Open(saved);
        copy.Tasks.Select(t => t.Name).Should().Equal(original.Tasks.Select(t => t.Name));
        copy.Tasks[0].Labels.Should().Equal(["a", "b", "c"]);
        var pixels = Enumerable.Range(0, 2 * 3 * 32 * 32).Select(i => (float)(i * 37 % 256)).ToArray();
        var expected = original.Predict(pixels, 2);
        var actual = copy.Predict(pixels, 2);
        actual.Outputs[copy.Tasks[0].Name].Should().Equal(expected.Outputs[original.Tasks[0].Name], "the same model, classes, bands and normalisation");
        using var spare = run.CreateModel();
        FluentActions.Invoking(() => RunFolderWriter.Save(_dir.Combine("other"), run.Configuration, spare, [], null))
            .Should().Throw<ArgumentException>().WithMessage("*do not match*");
    }

    [Fact]
    public void Docs_list_every_data_source_key()
    {
        var docs = File.ReadAllText(Path.Combine(Repository.Root(), "docs", "datasets.md"));
        var keys = typeof(DataSourceOptions).GetProperties().Where(p => p.CanWrite).Select(p => Snake(p.Name)).ToList();

        keys.Should().Contain(["val_fraction", "test_fraction", "kind", "path"]);
        keys.Where(k => !docs.Contains($"| `{k}` |", StringComparison.Ordinal)).Should().BeEmpty("docs/datasets.md's table lists every key of a source");
    }

    private static string Snake(string name) => string.Concat(name.Select((ch, i) => char.IsUpper(ch) && i > 0 ? "_" + char.ToLowerInvariant(ch) : char.ToLowerInvariant(ch).ToString()));
}
