using FluentAssertions;
using SpatialNet.Training.Workflow;
using Xunit;

namespace SpatialNet.Training.Tests.Multimodal;

/// <summary>The paper-protocol configurations in configs/ parse, validate and carry ARCHITECTURE.md's hyper-parameters.</summary>
public sealed class PaperConfigTests
{
    private static string ConfigFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SpatialNet.sln")))
                return Path.Combine(dir.FullName, "configs");
        }
        throw new DirectoryNotFoundException("The repository root (SpatialNet.sln) is not above the test output folder.");
    }

    [Theory]
    [InlineData("paper-ucm-caption.json", new[] { "land_use", "caption" }, new[] { "ucm-caption" })]
    [InlineData("paper-rsvqa-lr.json", new[] { "vqa" }, new[] { "rsvqa" })]
    [InlineData("paper-multimodal.json", new[] { "land_use", "caption", "vqa" }, new[] { "ucm-caption", "rsvqa" })]
    public void Paper_configs_parse_and_hold_the_papers_hyper_parameters(string file, string[] tasks, string[] sources)
    {
        var folder = ConfigFolder();

        var config = TrainingConfig.Load(Path.Combine(folder, file));

        // ARCHITECTURE.md: 12 layers, D = 512, 8 heads, patch 16, 256×256, lr 1e-4, batch 32, 50 epochs, λ_t = 1, λ_reg = 0.01.
        config.Model.Depth.Should().Be(12);
        config.Model.EmbedDim.Should().Be(512);
        config.Model.NumHeads.Should().Be(8);
        config.Model.PatchSize.Should().Be(16);
        config.Model.ImageSize.Should().Be(256);
        config.Optimizer.LearningRate.Should().Be(1e-4);
        config.BatchSize.Should().Be(32);
        config.Epochs.Should().Be(50);
        config.Loss.Composer.Should().Be("weighted_sum");
        config.Loss.L2.Should().Be(0.01);
        config.Tasks.Select(t => t.Name).Should().Equal(tasks);
        config.Tasks.Should().OnlyContain(t => t.LossWeight == 1.0);
        config.Data.Sources.Select(s => s.Kind).Should().Equal(sources);
        // Dataset paths are the user's: relative to the configs folder, resolved on load.
        config.Data.Sources.Should().OnlyContain(s => Path.IsPathFullyQualified(s.Path!) && s.Path!.StartsWith(Path.GetDirectoryName(folder)!, StringComparison.Ordinal));
        config.Problems().Should().BeEmpty();
    }

    [Fact]
    public void The_rsvqa_lr_sample_config_holds_the_settings_of_docs_rsvqa()
    {
        var folder = ConfigFolder();

        var config = TrainingConfig.Load(Path.Combine(folder, "rsvqa-lr-sample.json"));

        // docs/rsvqa.md: 64×64, patch 16, D 64, 2 layers, 4 heads; 1 question layer, classifier 256, count branch 0.1;
        // AdamW lr 2e-3, decay 0.05, 1 warm-up epoch of 40 then cosine to 1 %, clipping 1.0; batches of 256;
        // rural/urban ×10, length buckets, modality dropout 0.25; the epoch chosen by (AA + OA) / 2.
        (config.Model.ImageSize, config.Model.PatchSize, config.Model.EmbedDim, config.Model.Depth, config.Model.NumHeads).Should().Be((64, 16, 64, 2, 4));
        var vqa = config.Tasks.Single();
        (vqa.Kind, vqa.TextDepth, vqa.ClassifierHidden, vqa.CountLossWeight, vqa.Dropout).Should().Be(("vqa", 1, (int?)256, 0.1, 0.1));
        (config.Optimizer.LearningRate, config.Optimizer.WeightDecay, config.Optimizer.GradientClipNorm).Should().Be((2e-3, 0.05, (double?)1.0));
        (config.Schedule.WarmupFraction * config.Epochs, config.Schedule.MinLrRatio, config.Epochs, config.BatchSize).Should().Be((1.0, 0.01, 40, 256));
        config.Data.Repeats.Should().Equal(new Dictionary<string, int> { ["rural_urban"] = 10 });
        (config.Data.DeduplicateImages, config.Data.LengthBuckets, config.Data.ImageDrop, config.Data.BlankImageAblation).Should().Be((true, 8, 0.25, true));
        (config.Data.EvalSplit, config.Data.TestSplit).Should().Be(("val", "test"));
        config.EarlyStopping.Metric.Should().Be("rsvqa/aa_oa_mean");
        config.Data.Sources.Single().Path.Should().EndWith(Path.Combine("shared", "data", "rsvqa-lr-sample"));
        config.Problems().Should().BeEmpty();
    }

    [Fact]
    public void A_caption_task_with_a_bad_text_setting_is_rejected_naming_the_field()
    {
        var json = File.ReadAllText(Path.Combine(ConfigFolder(), "paper-ucm-caption.json"))
            .Replace("\"beam_width\": 3", "\"beam_width\": 0", StringComparison.Ordinal)
            .Replace("\"depth\": 3,", "\"depth\": 0,", StringComparison.Ordinal);

        FluentActions.Invoking(() => TrainingConfig.Parse(json)).Should().Throw<TrainingConfigException>()
            .Which.Problems.Should().Contain(p => p.StartsWith("tasks[1].caption.decoding.beam_width = 0", StringComparison.Ordinal))
            .And.Contain(p => p.StartsWith("tasks[1].caption.depth = 0", StringComparison.Ordinal));
    }

    [Fact]
    public void Caption_decoding_use_cache_defaults_on_and_can_be_turned_off()
    {
        var json = File.ReadAllText(Path.Combine(ConfigFolder(), "paper-ucm-caption.json"));
        var on = TrainingConfig.Parse(json).Tasks[1].Caption!.Decoding;
        on.ToOptions().UseCache.Should().BeTrue();

        var off = TrainingConfig.Parse(json.Replace("\"beam_width\": 3", "\"beam_width\": 3, \"use_cache\": false", StringComparison.Ordinal)).Tasks[1].Caption!.Decoding;
        off.UseCache.Should().BeFalse();
        off.ToOptions().UseCache.Should().BeFalse();
        off.ToOptions().BeamWidth.Should().Be(3);
    }
}
