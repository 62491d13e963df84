using System.Text.Json;
using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Metrics;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Integration;

public sealed class ReportRenderingTests
{
    [Fact]
    public void TableI_ListsTheSystemsThenTheRetrievalBaselineRow_Times100()
    {
        var model = new CaptioningRow("SpatialNet", new Dictionary<string, double>
        {
            ["Bleu_1"] = 0.8, ["Bleu_2"] = 0.705, ["Bleu_3"] = 0.6025, ["Bleu_4"] = 0.5, ["METEOR"] = 0.4, ["ROUGE_L"] = 0.75, ["CIDEr"] = 2.5,
        });
        // The reference retrieval baseline on the real test split (METEOR, BLEU-2/3 not given there).
        var retrieval = new CaptioningRow(PaperTables.RetrievalBaselineName, new Dictionary<string, double>
        {
            ["Bleu_1"] = 0.8786, ["Bleu_4"] = 0.7268, ["ROUGE_L"] = 0.8416, ["CIDEr"] = 3.353,
        });

        PaperTables.CaptioningMarkdown([model], retrieval).Should().Be(
            "| Method | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | METEOR | ROUGE-L | CIDEr |\n" +
            "|---|---:|---:|---:|---:|---:|---:|---:|\n" +
            "| SpatialNet | 80.00 | 70.50 | 60.25 | 50.00 | 40.00 | 75.00 | 250.00 |\n" +
            "| Retrieval baseline (most frequent training caption of the class) | 87.86 | — | — | 72.68 | — | 84.16 | 335.30 |\n");

        // Without retrieval captions the row is still there, empty.
        PaperTables.CaptioningMarkdown([], null).Split('\n')[2].Should()
            .Be("| Retrieval baseline (most frequent training caption of the class) | — | — | — | — | — | — | — |");

        var json = PaperTables.CaptioningJson([model], retrieval);
        json["rows"]![1]!["values"]!["CIDEr"]!.GetValue<double>().Should().Be(335.3);
        json["rows"]![1]!["values"]!["METEOR"].Should().BeNull();
    }

    [Fact]
    public void TableII_HasCountPresenceComparisonUrbanRuralAaOa()
    {
        // count 2/2 (as bins), presence 2/2, comp 0/1, rural_urban 1/1 → AA = (1 + 1 + 0 + 1)/4 = 75, OA = 5/6.
        var result = VqaMetrics.Compute(
        [
            new VqaAnswer("count", "3", "4"), new VqaAnswer("count", "12", "15"),
            new VqaAnswer("presence", "yes", "yes"), new VqaAnswer("presence", "no", "no"),
            new VqaAnswer("comp", "yes", "no"), new VqaAnswer("rural_urban", "urban", "urban"),
        ]);
        // Count answers compare as bins: 3 and 4 are both "between 1 and 10"; 12 and 15 both "between 11 and 100".
        var partial = VqaMetrics.Compute([new VqaAnswer("presence", "yes", "no"), new VqaAnswer("presence", "no", "no")]);

        PaperTables.VqaMarkdown([new VqaRow("SpatialNet", result), new VqaRow("Majority", partial)]).Should().Be(
            "| Method | Count | Presence | Comparison | Urban/Rural | AA | OA |\n" +
            "|---|---:|---:|---:|---:|---:|---:|\n" +
            "| SpatialNet | 100.00 | 100.00 | 0.00 | 100.00 | 75.00 | 83.33 |\n" +
            "| Majority | — | 50.00 | — | — | 50.00 | 50.00 |\n");
    }

    private static MultiTaskEvaluationResult HandResult()
    {
        var cls = new TaskPredictionSet(new TaskDefinition("land_use", TaskKind.Classification)
        {
            Labels = ["field", "town"],
            Statistics = TargetStatistics.FromClasses([0, 0, 1], 2),
        });
        cls.Add(tensor(new float[,] { { 0.9f, 0.1f }, { 0.2f, 0.8f }, { 0.6f, 0.4f }, { 0.3f, 0.7f } }), tensor(new long[] { 0, 1, 1, 1 }));
        var reg = new TaskPredictionSet(new TaskDefinition("count", TaskKind.Regression) { Statistics = TargetStatistics.FromValues([[1.0], [3.0]]) });
        reg.Add(tensor(new float[] { 1, 2 }), tensor(new float[] { 1, 3 }));
        var tasks = new[] { cls.Compute(), reg.Compute() };
        var metrics = new Dictionary<string, double> { ["land_use/accuracy"] = 0.75, ["count/mae"] = 0.5 };
        return new MultiTaskEvaluationResult("val", tasks, metrics);
    }

    [Fact]
    public void Markdown_SummaryPutsEachTaskBesideItsBaselineAndChance()
    {
        var report = new EvaluationReport(HandResult(), "Tiny").With("seed", "7");

        var md = report.ToMarkdown();

        // land_use: 3 of 4 right; the training majority "field" is right once (1/4); chance 1/2.
        // count: MAE (0 + 1)/2 = 0.5; training mean 2 → (1 + 1)/2 = 1.
        md.Should().StartWith("# Tiny\n\nSplit: **val**\n\n| Run | |\n|---|---|\n| seed | 7 |\n\n");
        md.Should().Contain(
            "## Summary\n\n| Task | Kind | Metric | Value | Baseline | Chance |\n|---|---|---|---:|---:|---:|\n" +
            "| land_use | classification | accuracy | 0.7500 | 0.2500 | 0.5000 |\n" +
            "| count | regression | mae | 0.5000 | 1.0000 | — |\n");
        md.Should().Contain("| Class | Support | Accuracy | F1 |\n|---|---:|---:|---:|\n| field | 1 | 1.0000 | 0.6667 |\n| town | 3 | 0.6667 | 0.8000 |\n");
        md.Should().Contain("| | field | town |\n|---|---:|---:|\n| field | 1 | 0 |\n| town | 1 | 2 |\n");
        report.SummaryLines().Should().Equal(
            "land_use  accuracy 0.7500  (chance 0.5000, baseline 0.2500: majority class of the training split)",
            "count     mae 0.5000  (baseline 1.0000: mean of the training split)");
    }

    [Fact]
    public void Json_HoldsMetricsBaselinesPerClassAndConfusion()
    {
        var report = new EvaluationReport(HandResult());
        report.Captioning.Add(new CaptioningRow("SpatialNet", new Dictionary<string, double> { ["Bleu_1"] = 0.5 }));

        using var json = JsonDocument.Parse(report.ToJson());
        var root = json.RootElement;

        root.GetProperty("split").GetString().Should().Be("val");
        var land = root.GetProperty("tasks")[0];
        land.GetProperty("metrics").GetProperty("accuracy").GetDouble().Should().Be(0.75);
        land.GetProperty("baseline").GetProperty("accuracy").GetDouble().Should().Be(0.25);
        land.GetProperty("chance").GetDouble().Should().Be(0.5);
        land.GetProperty("confusion_matrix").GetProperty("counts")[1][0].GetInt64().Should().Be(1);
        land.GetProperty("per_class")[1].GetProperty("support").GetInt64().Should().Be(3);
        root.GetProperty("tasks")[1].GetProperty("chance").ValueKind.Should().Be(JsonValueKind.Null);
        root.GetProperty("table_i").GetProperty("rows").GetArrayLength().Should().Be(2, "the model row and the retrieval baseline row");
        root.TryGetProperty("table_ii", out _).Should().BeFalse();
    }
}
