using System.Text.Json.Nodes;
using FluentAssertions;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Inference;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using Xunit;

namespace SpatialNet.Training.Tests.OwnData;

/// <summary><c>spatialnet evaluate --run RUN --input FOLDER</c>: a separate labelled folder scored with the run's own settings.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class EvaluateFolderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = SpatialNet.Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void A_labelled_16_bit_folder_is_scored_with_the_runs_classes_bands_range_and_normalisation()
    {
        var chips = MultispectralRunTests.WriteChips(_dir.Combine("chips"));
        var output = _dir.Combine("run");
        TrainingPipeline.Run(SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. ImageFolderRunTests.Small(output), .. MultispectralRunTests.Multispectral(chips)], environment: false));
        // Another folder: only the run's second class and new chips whose values drift (4-band, 16-bit like training).
        var other = _dir.Combine("field");
        ChipFolder.Write(other, ["water"], [7], 32, 4, 16, (k, i, c, y, x) => c switch { 3 => 7000 + 300 * i + 10 * y, 1 => 1200 - 150 * i + 3 * x, _ => 60000 });

        var (code, stdout, stderr) = Cli("evaluate", "--run", output, "--input", other, "--output", _dir.Combine("eval"), "--json", "--quiet");

        code.Should().Be(0, stderr);
        JsonNode.Parse(stdout)!["split"]!.GetValue<string>().Should().Be("field");
        var report = JsonNode.Parse(File.ReadAllText(_dir.Combine("eval", "report_field.json")))!;
        var task = report["tasks"]![0]!;
        task["samples"]!.GetValue<int>().Should().Be(7);
        var confusion = task["confusion_matrix"]!;
        confusion["labels"]!.AsArray().Select(l => l!.GetValue<string>()).Should().Equal("bare", "water");

        // The same images through the predictor (which reads the run's bands and range and normalises with its statistics).
        using var predictor = Predictor.Open(output);
        var predicted = Directory.GetFiles(Path.Combine(other, "water")).Order(StringComparer.Ordinal)
            .Select(f => predictor.Predict(predictor.LoadImage(f))["land_use"].PredictedClass).ToArray();
        var counts = confusion["counts"]!.AsArray().Select(r => r!.AsArray().Select(c => c!.GetValue<long>()).ToArray()).ToArray();
        counts[0].Should().Equal(0, 0);
        counts[1].Should().Equal(predicted.Count(p => p == 0), predicted.Count(p => p == 1));
        task["per_class"]!.AsArray().Should().HaveCount(2);
        var markdown = File.ReadAllText(_dir.Combine("eval", "report_field.md"));
        markdown.Should().Contain("Confusion matrix").And.Contain("4, 2 (1-based, the run's)").And.Contain("[0, 10000], [0, 2000] (the run's)");
    }

    [Fact]
    public void A_class_folder_the_run_does_not_know_is_named_with_the_runs_classes()
    {
        var chips = _dir.Combine("chips");
        ChipFolder.Write(chips, ["a", "b"], [5, 5], 32, 3, 8, (k, i, c, y, x) => (k * 90 + x) % 256);
        var output = _dir.Combine("run");
        TrainingPipeline.Run(SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. ImageFolderRunTests.Small(output), $"data:sources:0:path={chips}", "data:sources:0:test_fraction=0"], environment: false));
        var other = _dir.Combine("other");
        ChipFolder.Write(other, ["a", "zebra"], [1, 1], 32, 3, 8, (k, i, c, y, x) => x);

        var (code, _, stderr) = Cli("evaluate", "--run", output, "--input", other, "--quiet");

        code.Should().NotBe(0);
        stderr.Should().Contain("zebra").And.Contain("not a class of the run").And.Contain("a, b");
        Cli("evaluate", "--run", output, "--quiet").Err.Should().Contain("--input");
    }
}
