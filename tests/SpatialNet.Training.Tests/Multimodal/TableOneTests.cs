using FluentAssertions;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Metrics.Captioning;
using Xunit;

namespace SpatialNet.Training.Tests.Multimodal;

/// <summary>Table I of a captioning evaluation, with the retrieval baseline row, against hand-written Markdown and JSON.</summary>
public sealed class TableOneTests
{
    private static CaptionSystemResult Row(string name, CaptionSystemKind kind, params double[] values)
    {
        var corpus = CaptionScores.MetricNames.Zip(values).ToDictionary(p => p.First, p => p.Second);
        return new CaptionSystemResult(name, kind, new CaptionScores
        {
            ImageOrder = ["1"],
            Corpus = corpus,
            PerImage = new Dictionary<string, IReadOnlyDictionary<string, double>> { ["1"] = corpus },
            Settings = new Dictionary<string, string>(),
        });
    }

    private static CaptionEvaluationResult Result(bool withClassifier)
    {
        var systems = new List<CaptionSystemResult> { Row("SpatialNet (caption, beam 3)", CaptionSystemKind.Model, 0.7125, 0.6, 0.5, 0.41234, 0.3, 0.65, 2.5) };
        if (withClassifier)
            systems.Add(Row("Retrieval: predicted class", CaptionSystemKind.RetrievalPredictedClass, 0.8, 0.7, 0.6, 0.5, 0.35, 0.7, 3.0));
        systems.Add(Row("Retrieval oracle: true class", CaptionSystemKind.RetrievalTrueClass, 0.8786, 0.8, 0.75, 0.7268, 0.4, 0.8416, 3.353));
        systems.Add(Row("Most frequent caption", CaptionSystemKind.MostFrequentCaption, 0.3, 0.2, 0.1, 0.05, 0.1, 0.25, 0.125));
        return new CaptionEvaluationResult("test", "caption", "beam 3", systems, [], withClassifier ? 0.9 : null);
    }

    [Fact]
    public void Markdown_lists_the_systems_then_the_retrieval_baseline_row_times_100()
    {
        const string expected =
            "| Method | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | METEOR | ROUGE-L | CIDEr |\n" +
            "|---|---:|---:|---:|---:|---:|---:|---:|\n" +
            "| SpatialNet (caption, beam 3) | 71.25 | 60.00 | 50.00 | 41.23 | 30.00 | 65.00 | 250.00 |\n" +
            "| Retrieval: predicted class | 80.00 | 70.00 | 60.00 | 50.00 | 35.00 | 70.00 | 300.00 |\n" +
            "| Most frequent caption | 30.00 | 20.00 | 10.00 | 5.00 | 10.00 | 25.00 | 12.50 |\n" +
            "| Retrieval oracle: true class | 87.86 | 80.00 | 75.00 | 72.68 | 40.00 | 84.16 | 335.30 |\n";

        Result(withClassifier: true).ToMarkdown().Should().Be(expected);
    }

    [Fact]
    public void Without_a_classifier_the_true_class_row_is_still_the_baseline_row()
    {
        var markdown = Result(withClassifier: false).ToMarkdown();

        markdown.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|')[1].Trim()).Should()
            .Equal("Method", "---", "SpatialNet (caption, beam 3)", "Most frequent caption", "Retrieval oracle: true class");
    }

    [Fact]
    public void Json_holds_table_one_in_the_same_order_and_the_report_gets_the_rows()
    {
        var result = Result(withClassifier: true);

        var table = result.ToJson()["table_i"]!;
        var rows = table["rows"]!.AsArray();
        rows.Select(r => (string)r!["method"]!).Should().Equal("SpatialNet (caption, beam 3)", "Retrieval: predicted class", "Most frequent caption", "Retrieval oracle: true class");
        ((double)rows[0]!["values"]!["BLEU-4"]!).Should().BeApproximately(41.234, 1e-9);
        ((double)rows[3]!["values"]!["CIDEr"]!).Should().BeApproximately(335.3, 1e-9);
        ((double)result.ToJson()["land_use_accuracy"]!).Should().Be(0.9);

        var report = new SpatialNet.Training.Evaluation.EvaluationReport(new MultiTaskEvaluationResult("test", [], new Dictionary<string, double>()));
        result.AddTo(report);
        report.Captioning.Select(r => r.System).Should().Equal("SpatialNet (caption, beam 3)", "Retrieval: predicted class", "Most frequent caption");
        report.CaptioningRetrievalBaseline!.System.Should().Be("Retrieval oracle: true class");
        report.ToMarkdown().Should().Contain(result.ToMarkdown());
    }

    [Fact]
    public void A_result_without_a_retrieval_row_is_refused()
    {
        FluentActions.Invoking(() => new CaptionEvaluationResult("test", "caption", "greedy",
                [Row("model", CaptionSystemKind.Model, 0, 0, 0, 0, 0, 0, 0), Row("blind", CaptionSystemKind.MostFrequentCaption, 0, 0, 0, 0, 0, 0, 0)], [], null))
            .Should().Throw<ArgumentException>().WithMessage("*retrieval baseline row*");
    }
}
