using FluentAssertions;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Multimodal;

/// <summary>
/// The paper configurations of configs/ run through the one path (configuration → options → DI → trainer →
/// reports) exactly as written, with only the sizes and the data folders overridden on the command line.
/// </summary>
public sealed class PaperConfigRunTests(SyntheticMultimodalFixture data) : IClassFixture<SyntheticMultimodalFixture>
{
    private static readonly string[] Small =
    [
        "model:image_size=32", "model:patch_size=8", "model:embed_dim=16", "model:depth=1", "model:num_heads=2",
        "trainer:epochs=1", "trainer:show_progress=false", "trainer:write_charts=false", "data:batch_size=8",
    ];

    [Theory]
    [InlineData("paper-ucm-caption.json", new[] { "land_use", "caption" })]
    [InlineData("paper-rsvqa-lr.json", new[] { "vqa" })]
    [InlineData("paper-multimodal.json", new[] { "land_use", "caption", "vqa" })]
    public void A_paper_configuration_trains_and_reports_every_task(string file, string[] tasks)
    {
        using var folder = new TempDirectory();
        var overrides = Small.Concat([$"output_dir={folder.Combine("run")}"]).ToList();
        var paths = file switch
        {
            "paper-ucm-caption.json" => new[] { data.UcmRoot },
            "paper-rsvqa-lr.json" => [data.RsvqaRoot],
            _ => [data.UcmRoot, data.RsvqaRoot],
        };
        for (var i = 0; i < paths.Length; i++) overrides.Add($"data:sources:{i}:path={paths[i]}");
        if (tasks.Contains("caption")) overrides.Add("tasks:1:head:depth=1");

        var config = SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", file), overrides, environment: false);
        var run = TrainingPipeline.Run(config);

        run.Training.History.Epochs.Should().HaveCount(1);
        File.Exists(Path.Combine(folder.Combine("run"), "report.json")).Should().BeTrue();
        var markdown = File.ReadAllText(Path.Combine(folder.Combine("run"), "report.md"));
        foreach (var task in tasks.Where(t => t != "caption")) markdown.Should().Contain($"| {task} |");
        if (tasks.Contains("caption")) run.Report.Captioning.Should().NotBeEmpty();
    }
}
