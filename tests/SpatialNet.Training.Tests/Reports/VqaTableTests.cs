using SpatialNet.Training.Evaluation;
using FluentAssertions;
using SpatialNet.Training.Metrics;
using Xunit;

namespace SpatialNet.Training.Tests.Reports;

/// <summary>Table II (<see cref="PaperTables"/>) rendered from hand-made results, compared with hand-written text.</summary>
public sealed class VqaTableTests
{
    [Fact]
    public void Markdown_has_the_paper_columns_in_percent_with_two_decimals()
    {
        // Model: count 2/3, presence 1/1, comp 0/1, rural_urban 1/2 → AA (2/3 + 1 + 0 + 1/2)/4 = 13/24
        // = 54.1666…%, OA 4/7 = 57.142857…%. Baseline scored on presence only: other types print "—".
        var model = VqaMetrics.Compute(
        [
            new VqaAnswer("count", "3", "7"), new VqaAnswer("count", "0", "0"), new VqaAnswer("count", "50", "5"),
            new VqaAnswer("presence", "yes", "yes"), new VqaAnswer("comp", "no", "yes"),
            new VqaAnswer("rural_urban", "rural", "rural"), new VqaAnswer("rural_urban", "urban", "rural"),
        ]);
        var baseline = VqaMetrics.Compute([new VqaAnswer("presence", "yes", "no"), new VqaAnswer("presence", "no", "no")]);

        var text = PaperTables.VqaMarkdown([new VqaRow("Model", model), new VqaRow("A|B baseline", baseline)]);

        text.Should().Be(
            "| Method | Count | Presence | Comparison | Urban/Rural | AA | OA |\n" +
            "|---|---:|---:|---:|---:|---:|---:|\n" +
            "| Model | 66.67 | 100.00 | 0.00 | 50.00 | 54.17 | 57.14 |\n" +
            "| A\\|B baseline | — | 50.00 | — | — | 50.00 | 50.00 |\n");
    }

    [Fact]
    public void Json_holds_percentages_and_question_counts_per_type()
    {
        var result = VqaMetrics.Compute([new VqaAnswer("presence", "yes", "yes"), new VqaAnswer("presence", "no", "yes"), new VqaAnswer("comp", "no", "no"), new VqaAnswer("comp", "yes", "yes")]);

        var json = PaperTables.VqaJson([new VqaRow("Model", result)]).ToJsonString();

        // presence 1/2 = 50 %, comp 2/2 = 100 %, AA (50 + 100)/2 = 75 %, OA 3/4 = 75 %.
        json.Should().Be(
            "{\"table\":\"II (RSVQA)\",\"columns\":[\"Count\",\"Presence\",\"Comparison\",\"Urban/Rural\",\"AA\",\"OA\"]," +
            "\"rows\":[{\"method\":\"Model\",\"values\":{\"Count\":null,\"Presence\":50,\"Comparison\":100,\"Urban/Rural\":null,\"AA\":75,\"OA\":75}," +
            "\"correct\":{\"presence\":1,\"comp\":2},\"questions\":{\"presence\":2,\"comp\":2}}]}");
    }
}
