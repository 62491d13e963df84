using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using SpatialNet.Training.Metrics;
using MetricTypes = SpatialNet.Training.Metrics.RsvqaQuestionTypes;

namespace SpatialNet.Training.Vqa;

/// <summary>One row of Table II: a system (model or baseline) and its scores.</summary>
/// <param name="Method">Name of the system.</param>
/// <param name="Result">Its per-type accuracies, AA and OA.</param>
public sealed record VqaTableRow(string Method, VqaResult Result);

/// <summary>
/// The layout of the paper's Table II (RSVQA-LR): count, presence, comparison and urban/rural accuracy,
/// then AA and OA, in percent with two decimals. Every VQA report shows the model beside the two
/// baselines of issue 4 (<see cref="VqaBaselines"/>). A type a system was not scored on prints "—".
/// </summary>
public static class VqaTable
{
    /// <summary>The columns: header and RSVQA question type (null for AA and OA).</summary>
    public static IReadOnlyList<(string Header, string? Type)> Columns { get; } =
    [
        ("Count", MetricTypes.Count), ("Presence", MetricTypes.Presence), ("Comparison", MetricTypes.Comparison),
        ("Urban/Rural", MetricTypes.RuralUrban), ("AA", null), ("OA", null),
    ];

    /// <summary>The table in Markdown (a header row, an alignment row, one row per system; lines end in '\n').</summary>
    public static string Markdown(IEnumerable<VqaTableRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = new StringBuilder("| Method |");
        foreach (var (header, _) in Columns) text.Append(' ').Append(header).Append(" |");
        text.Append("\n|---|").Append(string.Concat(Enumerable.Repeat("---:|", Columns.Count))).Append('\n');
        foreach (var row in rows)
        {
            ArgumentNullException.ThrowIfNull(row);
            text.Append("| ").Append(row.Method.Replace("|", "\\|", StringComparison.Ordinal)).Append(" |");
            foreach (var (header, type) in Columns)
                text.Append(' ').Append(Value(row.Result, header, type) is { } v ? Percent(v) : "—").Append(" |");
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>
    /// The table as JSON: <c>{"table": "II (RSVQA)", "columns": [...], "rows": [{"method", "values":
    /// {header: percent or null}, "correct": {type: n}, "questions": {type: n}}]}</c>; values are
    /// percentages rounded to 10 decimals.
    /// </summary>
    public static JsonObject Json(IEnumerable<VqaTableRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var array = new JsonArray();
        foreach (var row in rows)
        {
            ArgumentNullException.ThrowIfNull(row);
            var values = new JsonObject();
            var correct = new JsonObject();
            var questions = new JsonObject();
            foreach (var (header, type) in Columns)
            {
                values[header] = Value(row.Result, header, type) is { } v ? JsonValue.Create(Math.Round(100 * v, 10)) : null;
                if (type is not null && row.Result.PerType.TryGetValue(type, out var acc))
                {
                    correct[type] = acc.Correct;
                    questions[type] = acc.Total;
                }
            }
            array.Add(new JsonObject { ["method"] = row.Method, ["values"] = values, ["correct"] = correct, ["questions"] = questions });
        }
        return new JsonObject
        {
            ["table"] = "II (RSVQA)",
            ["columns"] = new JsonArray(Columns.Select(c => (JsonNode?)c.Header).ToArray()),
            ["rows"] = array,
        };
    }

    /// <summary>An accuracy in [0, 1] as a percentage with two decimals ("57.59"), "—" when not finite.</summary>
    public static string Percent(double accuracy) =>
        double.IsFinite(accuracy) ? (100 * accuracy).ToString("F2", CultureInfo.InvariantCulture) : "—";

    private static double? Value(VqaResult result, string header, string? type) => type is not null
        ? result.PerType.TryGetValue(type, out var acc) ? acc.Accuracy : null
        : header == "AA" ? result.AverageAccuracy : result.OverallAccuracy;
}
