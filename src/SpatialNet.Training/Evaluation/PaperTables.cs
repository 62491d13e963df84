using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Metrics.Captioning;

namespace SpatialNet.Training.Evaluation;

/// <summary>One row of the captioning table: a system and its corpus scores.</summary>
/// <param name="System">Name of the system (model, baseline).</param>
/// <param name="Scores">Corpus scores keyed by <see cref="CaptionScores.MetricNames"/> (<c>Bleu_1</c> … <c>CIDEr</c>), in [0, 1] units (CIDEr in its own units); missing keys print as "—".</param>
public sealed record CaptioningRow(string System, IReadOnlyDictionary<string, double> Scores)
{
    /// <summary>The row of a scored system.</summary>
    public static CaptioningRow From(string system, CaptionScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return new CaptioningRow(system, scores.Corpus);
    }
}

/// <summary>One row of the VQA table: a system and its RSVQA scores.</summary>
/// <param name="System">Name of the system (model, majority baseline, question-only baseline).</param>
/// <param name="Result">Its per-type accuracies, AA and OA.</param>
public sealed record VqaRow(string System, VqaResult Result);

/// <summary>
/// The layouts of the SpatialNet-ViT paper's result tables, rendered from metric results:
/// Table I (captioning on UCM-caption: BLEU-1..4, METEOR, ROUGE-L, CIDEr, with the retrieval
/// baseline row every captioning report must show) and Table II (RSVQA-LR: count, presence,
/// comparison, urban/rural accuracy, AA, OA). Values are printed ×100 with two decimals, as the
/// papers report them.
/// </summary>
public static class PaperTables
{
    /// <summary>Name of the retrieval baseline row of Table I (the most frequent training caption of the predicted class).</summary>
    public const string RetrievalBaselineName = "Retrieval baseline (most frequent training caption of the class)";

    /// <summary>Table I's columns: header text and the <see cref="CaptionScores"/> key.</summary>
    public static IReadOnlyList<(string Header, string Key)> CaptioningColumns { get; } =
    [
        ("BLEU-1", "Bleu_1"), ("BLEU-2", "Bleu_2"), ("BLEU-3", "Bleu_3"), ("BLEU-4", "Bleu_4"),
        ("METEOR", "METEOR"), ("ROUGE-L", "ROUGE_L"), ("CIDEr", "CIDEr"),
    ];

    /// <summary>Table II's columns: header text and the RSVQA question type (null for AA and OA).</summary>
    public static IReadOnlyList<(string Header, string? Type)> VqaColumns { get; } =
    [
        ("Count", RsvqaQuestionTypes.Count), ("Presence", RsvqaQuestionTypes.Presence), ("Comparison", RsvqaQuestionTypes.Comparison),
        ("Urban/Rural", RsvqaQuestionTypes.RuralUrban), ("AA", null), ("OA", null),
    ];

    /// <summary>
    /// Table I in Markdown: one row per system, then the retrieval baseline row (its values, or "—"
    /// where nobody has produced retrieval captions yet).
    /// </summary>
    public static string CaptioningMarkdown(IReadOnlyList<CaptioningRow> systems, CaptioningRow? retrievalBaseline)
    {
        ArgumentNullException.ThrowIfNull(systems);
        var text = new StringBuilder();
        text.Append("| Method |");
        foreach (var (header, _) in CaptioningColumns)
            text.Append(' ').Append(header).Append(" |");
        text.Append('\n').Append("|---|").Append(string.Concat(Enumerable.Repeat("---:|", CaptioningColumns.Count))).Append('\n');
        foreach (var row in systems.Append(retrievalBaseline ?? new CaptioningRow(RetrievalBaselineName, new Dictionary<string, double>())))
        {
            text.Append("| ").Append(Escape(row.System)).Append(" |");
            foreach (var (_, key) in CaptioningColumns)
                text.Append(' ').Append(row.Scores.TryGetValue(key, out var v) ? Percent(v) : "—").Append(" |");
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Table II in Markdown: one row per system; a type a system was not scored on prints "—".</summary>
    public static string VqaMarkdown(IEnumerable<VqaRow> systems)
    {
        ArgumentNullException.ThrowIfNull(systems);
        var text = new StringBuilder();
        text.Append("| Method |");
        foreach (var (header, _) in VqaColumns)
            text.Append(' ').Append(header).Append(" |");
        text.Append('\n').Append("|---|").Append(string.Concat(Enumerable.Repeat("---:|", VqaColumns.Count))).Append('\n');
        foreach (var row in systems)
        {
            ArgumentNullException.ThrowIfNull(row);
            text.Append("| ").Append(Escape(row.System)).Append(" |");
            foreach (var (header, type) in VqaColumns)
                text.Append(' ').Append(VqaValue(row.Result, header, type) is { } v ? Percent(v) : "—").Append(" |");
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>
    /// The accuracy in [0, 1] of one Table II column (<see cref="VqaColumns"/>: a question type, or
    /// <c>AA</c>/<c>OA</c> when <paramref name="type"/> is null), or null when the system was not
    /// scored on that type.
    /// </summary>
    public static double? VqaValue(VqaResult result, string header, string? type)
    {
        ArgumentNullException.ThrowIfNull(result);
        return type is not null
            ? result.PerType.TryGetValue(type, out var acc) ? acc.Accuracy : null
            : header == "AA" ? result.AverageAccuracy : result.OverallAccuracy;
    }

    /// <summary>Table I as JSON: <c>{"columns": [...], "rows": [{"method", "values": {header: value ×100 or null}}]}</c>.</summary>
    public static JsonObject CaptioningJson(IReadOnlyList<CaptioningRow> systems, CaptioningRow? retrievalBaseline)
    {
        ArgumentNullException.ThrowIfNull(systems);
        var rows = new JsonArray();
        foreach (var row in systems.Append(retrievalBaseline ?? new CaptioningRow(RetrievalBaselineName, new Dictionary<string, double>())))
        {
            var values = new JsonObject();
            foreach (var (header, key) in CaptioningColumns)
                values[header] = row.Scores.TryGetValue(key, out var v) ? Json(100 * v) : null;
            rows.Add(new JsonObject { ["method"] = row.System, ["values"] = values });
        }
        return new JsonObject
        {
            ["table"] = "I (captioning)",
            ["columns"] = new JsonArray(CaptioningColumns.Select(c => (JsonNode?)c.Header).ToArray()),
            ["rows"] = rows,
        };
    }

    /// <summary>
    /// Table II as JSON: <c>{"table": "II (RSVQA)", "columns": [...], "rows": [{"method", "values":
    /// {header: accuracy ×100 or null}, "correct": {type: n}, "questions": {type: n}}]}</c>; values
    /// rounded to 10 decimals.
    /// </summary>
    public static JsonObject VqaJson(IEnumerable<VqaRow> systems)
    {
        ArgumentNullException.ThrowIfNull(systems);
        var rows = new JsonArray();
        foreach (var row in systems)
        {
            ArgumentNullException.ThrowIfNull(row);
            var values = new JsonObject();
            var correct = new JsonObject();
            var questions = new JsonObject();
            foreach (var (header, type) in VqaColumns)
            {
                values[header] = VqaValue(row.Result, header, type) is { } v ? Json(100 * v) : null;
                if (type is not null && row.Result.PerType.TryGetValue(type, out var acc))
                {
                    correct[type] = acc.Correct;
                    questions[type] = acc.Total;
                }
            }
            rows.Add(new JsonObject { ["method"] = row.System, ["values"] = values, ["correct"] = correct, ["questions"] = questions });
        }
        return new JsonObject
        {
            ["table"] = "II (RSVQA)",
            ["columns"] = new JsonArray(VqaColumns.Select(c => (JsonNode?)c.Header).ToArray()),
            ["rows"] = rows,
        };
    }

    /// <summary>A value in [0, 1] as a percentage with two decimals ("57.59"); "—" when not finite.</summary>
    public static string Percent(double value) =>
        double.IsFinite(value) ? (100 * value).ToString("F2", CultureInfo.InvariantCulture) : "—";

    internal static JsonNode? Json(double value) => double.IsFinite(value) ? JsonValue.Create(Math.Round(value, 10)) : null;

    internal static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
