using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Configuration;

/// <summary>The paper-protocol configurations in configs/ bind, validate and carry ARCHITECTURE.md's hyper-parameters.</summary>
public sealed class PaperConfigTests
{
    private static string ConfigFolder() => Path.Combine(Repository.Root(), "configs");

    [Theory]
    [InlineData("paper-ucm-caption.json", new[] { "land_use", "caption" }, new[] { "ucm-caption" })]
    [InlineData("paper-rsvqa-lr.json", new[] { "vqa" }, new[] { "rsvqa" })]
    [InlineData("paper-multimodal.json", new[] { "land_use", "caption", "vqa" }, new[] { "ucm-caption", "rsvqa" })]
    public void Paper_configs_bind_and_hold_the_papers_hyper_parameters(string file, string[] tasks, string[] sources)
    {
        var folder = ConfigFolder();

        var config = TrainingRunOptions.Bind(SpatialNetConfiguration.Load(Path.Combine(folder, file), environment: false));

        // ARCHITECTURE.md: 12 layers, D = 512, 8 heads, patch 16, 256×256, lr 1e-4, batch 32, 50 epochs, λ_t = 1, λ_reg = 0.01.
        config.Model.Depth.Should().Be(12);
        config.Model.EmbedDim.Should().Be(512);
        config.Model.NumHeads.Should().Be(8);
        config.Model.PatchSize.Should().Be(16);
        config.Model.ImageSize.Should().Be(256);
        config.Trainer.LearningRate.Should().Be(1e-4);
        config.Data.BatchSize.Should().Be(32);
        config.Trainer.Epochs.Should().Be(50);
        config.Loss.LossComposer.Should().Be("weighted_sum");
        config.Loss.L2Lambda.Should().Be(0.01);
        config.Tasks.Select(t => t.Name).Should().Equal(tasks);
        config.Tasks.Should().OnlyContain(t => t.Head.LossWeight == 1.0);
        config.Data.Sources.Select(s => s.Kind).Should().Equal(sources);
        // Dataset paths are the user's: relative to the configs folder, resolved on load.
        config.Data.Sources.Should().OnlyContain(s => Path.IsPathFullyQualified(s.Path!) && s.Path!.StartsWith(Path.GetDirectoryName(folder)!, StringComparison.Ordinal));
        config.Problems().Should().BeEmpty();
    }

    [Fact]
    public void A_caption_task_with_a_bad_text_setting_is_rejected_naming_the_key()
    {
        var file = Path.Combine(ConfigFolder(), "paper-ucm-caption.json");

        FluentActions.Invoking(() => TrainingRunOptions.Bind(SpatialNetConfiguration.Load(file, ["tasks:1:head:decoding:beam_width=0", "tasks:1:head:depth=0"], false)))
            .Should().Throw<ConfigurationException>()
            .Which.Problems.Should().Contain(p => p.StartsWith("tasks:1:head:", StringComparison.Ordinal) && p.Contains("BeamWidth = 0", StringComparison.Ordinal))
            .And.Contain(p => p.StartsWith("tasks:1:head:", StringComparison.Ordinal) && p.Contains("CaptionHeadOptions.Depth = 0", StringComparison.Ordinal));
    }

    [Fact]
    public void Caption_decoding_use_cache_defaults_on_and_can_be_turned_off()
    {
        var file = Path.Combine(ConfigFolder(), "paper-ucm-caption.json");
        var on = (CaptionHeadOptions)TrainingRunOptions.Bind(SpatialNetConfiguration.Load(file, environment: false)).Tasks[1].Head;
        on.Decoding.UseCache.Should().BeTrue();
        on.Decoding.BeamWidth.Should().Be(3);
        on.Depth.Should().Be(3);

        var off = (CaptionHeadOptions)TrainingRunOptions.Bind(SpatialNetConfiguration.Load(file, ["tasks:1:head:decoding:use_cache=false"], false)).Tasks[1].Head;
        off.Decoding.UseCache.Should().BeFalse();
        off.Decoding.BeamWidth.Should().Be(3);
    }
}
