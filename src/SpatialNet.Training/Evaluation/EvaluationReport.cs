using SpatialNet.IO;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SpatialNet.Heads;


namespace SpatialNet.Training.Evaluation;

/// <summary>
/// An evaluation report: run facts, every task's metrics beside its training-prior baseline and
/// chance level with per-class details and confusion matrices, and — when the run has them — the
/// paper's Table I (captioning) and Table II (RSVQA). Rendered as JSON (<see cref="ToJson"/>) and
/// Markdown (<see cref="ToMarkdown"/>).
/// </summary>
public sealed class EvaluationReport
{
    /// <summary>File name of the JSON report.</summary>
    public const string JsonFileName = "report.json";

    /// <summary>File name of the Markdown report.</summary>
    public const string MarkdownFileName = "report.md";

    /// <summary>Creates a report of <paramref name="result"/>.</summary>
    /// <param name="result">The evaluation.</param>
    /// <param name="title">Heading of the report.</param>
    public EvaluationReport(MultiTaskEvaluationResult result, string title = "SpatialNet evaluation")
    {
        Result = result ?? throw new ArgumentNullException(nameof(result));
        Title = title;
    }

    /// <summary>The evaluation.</summary>
    public MultiTaskEvaluationResult Result { get; }

    /// <summary>Heading.</summary>
    public string Title { get; }

    /// <summary>Facts about the run (configuration, checkpoint, device, training time, …), in insertion order.</summary>
    public IList<KeyValuePair<string, string>> Run { get; } = [];

    /// <summary>Table I rows (systems scored on captioning); empty: no Table I.</summary>
    public IList<CaptioningRow> Captioning { get; } = [];

    /// <summary>Table I's retrieval baseline row, when someone computed it.</summary>
    public CaptioningRow? CaptioningRetrievalBaseline { get; set; }

    /// <summary>Table II rows added by hand (e.g. the question-only baseline); VQA tasks of <see cref="Result"/> add their own rows.</summary>
    public IList<VqaRow> VqaRows { get; } = [];

    /// <summary>Adds a fact to <see cref="Run"/>.</summary>
    public EvaluationReport With(string key, string value)
    {
        Run.Add(new(key, value));
        return this;
    }

    /// <summary>What the baseline of a built-in task kind is (its registration's <see cref="ITrainingTaskKind.BaselineDescription"/>).</summary>
    public static string BaselineDescription(TaskKind kind) => TrainingTaskKinds.Of(kind).BaselineDescription;

    /// <summary>All Table II rows: each VQA task's model and baseline rows, then <see cref="VqaRows"/>.</summary>
    public IReadOnlyList<VqaRow> AllVqaRows()
    {
        var rows = new List<VqaRow>();
        foreach (var t in Result.Tasks.Where(t => t.Vqa is not null))
        {
            rows.Add(new VqaRow($"SpatialNet ({t.Task.Name})", t.Vqa!));
            if (t.VqaBaseline is not null)
                rows.Add(new VqaRow("Majority answer per question type", t.VqaBaseline));
        }
        rows.AddRange(VqaRows);
        return rows;
    }

    /// <summary>The report as indented JSON (NaN and infinities as null).</summary>
    public string ToJson()
    {
        var tasks = new JsonArray();
        foreach (var t in Result.Tasks)
            tasks.Add(TaskJson(t));
        var run = new JsonObject();
        foreach (var (k, v) in Run)
            run[k] = v;
        var root = new JsonObject
        {
            ["title"] = Title,
            ["split"] = Result.Split,
            ["run"] = run,
            ["metrics"] = Numbers(Result.Metrics),
            ["tasks"] = tasks,
        };
        if (Captioning.Count > 0 || CaptioningRetrievalBaseline is not null)
            root["table_i"] = PaperTables.CaptioningJson([.. Captioning], CaptioningRetrievalBaseline);
        var vqa = AllVqaRows();
        if (vqa.Count > 0)
            root["table_ii"] = PaperTables.VqaJson(vqa);
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    /// <summary>
    /// A few plain-text lines for a console: per task its primary metric beside the chance level and
    /// the baseline, e.g. <c>land_use  accuracy 0.9650  (chance 0.0476, baseline 0.0476: majority class of the training split)</c>.
    /// </summary>
    public IReadOnlyList<string> SummaryLines()
    {
        int width = Result.Tasks.Count == 0 ? 0 : Result.Tasks.Max(t => t.Task.Name.Length);
        var lines = new List<string>();
        foreach (var t in Result.Tasks)
        {
            var m = t.PrimaryMetric;
            var text = new StringBuilder();
            text.Append(t.Task.Name.PadRight(width)).Append("  ").Append(m).Append(' ').Append(Number(t.Metrics[m]));
            var notes = new List<string>();
            if (t.Chance is double c && m == TaskMetricNames.Accuracy)
                notes.Add("chance " + Number(c));
            if (t.Baseline is { } b && b.TryGetValue(m, out var bv))
                notes.Add($"baseline {Number(bv)}: {TrainingTaskKinds.Of(t.Task).BaselineDescription}");
            if (notes.Count > 0)
                text.Append("  (").Append(string.Join(", ", notes)).Append(')');
            lines.Add(text.ToString());
        }
        return lines;
    }

    /// <summary>The report as Markdown.</summary>
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.Append("# ").Append(Title).Append("\n\n");
        md.Append("Split: **").Append(Result.Split).Append("**\n\n");
        if (Run.Count > 0)
        {
            md.Append("| Run | |\n|---|---|\n");
            foreach (var (k, v) in Run)
                md.Append("| ").Append(PaperTables.Escape(k)).Append(" | ").Append(PaperTables.Escape(v)).Append(" |\n");
            md.Append('\n');
        }

        md.Append("## Summary\n\n| Task | Kind | Metric | Value | Baseline | Chance |\n|---|---|---|---:|---:|---:|\n");
        foreach (var t in Result.Tasks)
        {
            var m = t.PrimaryMetric;
            md.Append("| ").Append(t.Task.Name).Append(" | ").Append(KindName(t.Task.Kind)).Append(" | ").Append(m).Append(" | ")
              .Append(Number(t.Metrics[m])).Append(" | ")
              .Append(t.Baseline is { } b && b.TryGetValue(m, out var bv) ? Number(bv) : "—").Append(" | ")
              .Append(t.Chance is double c && m == TaskMetricNames.Accuracy ? Number(c) : "—").Append(" |\n");
        }
        md.Append('\n');

        foreach (var t in Result.Tasks)
            TaskMarkdown(md, t);

        if (Captioning.Count > 0 || CaptioningRetrievalBaseline is not null)
        {
            md.Append("## Table I — captioning (×100)\n\n");
            md.Append(PaperTables.CaptioningMarkdown([.. Captioning], CaptioningRetrievalBaseline)).Append('\n');
        }
        var vqa = AllVqaRows();
        if (vqa.Count > 0)
        {
            md.Append("## Table II — RSVQA accuracy (%)\n\n");
            md.Append(PaperTables.VqaMarkdown(vqa)).Append('\n');
        }
        return md.ToString();
    }

    /// <summary>
    /// Writes <c>{baseName}.json</c> and <c>{baseName}.md</c> (default <see cref="JsonFileName"/> and
    /// <see cref="MarkdownFileName"/>) into <paramref name="directory"/>, atomically; returns their paths.
    /// </summary>
    public (string Json, string Markdown) Save(string directory, string baseName = "report")
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(baseName);
        Directory.CreateDirectory(directory);
        var json = Path.Combine(directory, baseName + ".json");
        var markdown = Path.Combine(directory, baseName + ".md");
        AtomicFile.WriteAllText(json, ToJson());
        AtomicFile.WriteAllText(markdown, ToMarkdown());
        return (json, markdown);
    }

    private static void TaskMarkdown(StringBuilder md, TaskEvaluation t)
    {
        md.Append("## ").Append(t.Task.Name).Append(" (").Append(KindName(t.Task.Kind)).Append(", ")
          .Append(t.Samples.ToString(CultureInfo.InvariantCulture)).Append(" samples)\n\n");
        md.Append("| Metric | Value | Baseline |\n|---|---:|---:|\n");
        foreach (var (name, value) in t.Metrics)
        {
            md.Append("| ").Append(name).Append(" | ").Append(Number(value)).Append(" | ")
              .Append(t.Baseline is { } b && b.TryGetValue(name, out var bv) ? Number(bv) : "—").Append(" |\n");
        }
        if (t.MeanLoss is double loss)
            md.Append("| loss | ").Append(Number(loss)).Append(" | — |\n");
        md.Append('\n');
        md.Append("Baseline: ").Append(TrainingTaskKinds.Of(t.Task).BaselineDescription).Append('.');
        if (t.Chance is double chance)
            md.Append(" Chance accuracy: ").Append(Number(chance)).Append('.');
        md.Append("\n\n");

        if (t.Classification is { } c && t.Task.Kind == TaskKind.Classification)
        {
            var labels = c.Confusion.Labels;
            md.Append("| Class | Support | Accuracy | F1 |\n|---|---:|---:|---:|\n");
            for (int i = 0; i < labels.Count; i++)
            {
                long support = Enumerable.Range(0, labels.Count).Sum(j => c.Confusion[i, j]);
                md.Append("| ").Append(PaperTables.Escape(labels[i])).Append(" | ").Append(support.ToString(CultureInfo.InvariantCulture))
                  .Append(" | ").Append(Number(c.PerClassAccuracy[i])).Append(" | ").Append(Number(c.PerClassF1[i])).Append(" |\n");
            }
            md.Append("\nConfusion matrix (rows: expected, columns: predicted)\n\n| |");
            foreach (var l in labels)
                md.Append(' ').Append(PaperTables.Escape(l)).Append(" |");
            md.Append("\n|---|").Append(string.Concat(Enumerable.Repeat("---:|", labels.Count))).Append('\n');
            for (int i = 0; i < labels.Count; i++)
            {
                md.Append("| ").Append(PaperTables.Escape(labels[i])).Append(" |");
                for (int j = 0; j < labels.Count; j++)
                    md.Append(' ').Append(c.Confusion[i, j].ToString(CultureInfo.InvariantCulture)).Append(" |");
                md.Append('\n');
            }
            md.Append('\n');
        }
        if (t.MultiLabel is { } ml)
        {
            md.Append("| Label | Accuracy | F1 | AP |\n|---|---:|---:|---:|\n");
            for (int i = 0; i < ml.PerLabelF1.Count; i++)
            {
                var name = t.Task.Labels is { } names && i < names.Count ? names[i] : i.ToString(CultureInfo.InvariantCulture);
                md.Append("| ").Append(PaperTables.Escape(name)).Append(" | ").Append(Number(ml.PerLabelAccuracy[i])).Append(" | ")
                  .Append(Number(ml.PerLabelF1[i])).Append(" | ").Append(Number(ml.PerLabelAveragePrecision[i])).Append(" |\n");
            }
            md.Append('\n');
        }
    }

    private static JsonObject TaskJson(TaskEvaluation t)
    {
        var o = new JsonObject
        {
            ["name"] = t.Task.Name,
            ["kind"] = KindName(t.Task.Kind),
            ["samples"] = t.Samples,
            ["primary_metric"] = t.PrimaryMetric,
            ["metrics"] = Numbers(t.Metrics),
            ["baseline"] = t.Baseline is null ? null : Numbers(t.Baseline),
            ["baseline_description"] = TrainingTaskKinds.Of(t.Task).BaselineDescription,
            ["chance"] = t.Chance is double c ? PaperTables.Json(c) : null,
            ["loss"] = t.MeanLoss is double l ? PaperTables.Json(l) : null,
        };
        if (t.Classification is { } r && t.Task.Kind == TaskKind.Classification)
        {
            var perClass = new JsonArray();
            for (int i = 0; i < r.Confusion.Labels.Count; i++)
            {
                perClass.Add(new JsonObject
                {
                    ["class"] = r.Confusion.Labels[i],
                    ["support"] = Enumerable.Range(0, r.Confusion.Size).Sum(j => r.Confusion[i, j]),
                    ["accuracy"] = PaperTables.Json(r.PerClassAccuracy[i]),
                    ["f1"] = PaperTables.Json(r.PerClassF1[i]),
                });
            }
            o["per_class"] = perClass;
            o["confusion_matrix"] = Confusion(r.Confusion);
        }
        if (t.MultiLabel is { } ml)
        {
            var perLabel = new JsonArray();
            for (int i = 0; i < ml.PerLabelF1.Count; i++)
            {
                perLabel.Add(new JsonObject
                {
                    ["label"] = t.Task.Labels is { } names && i < names.Count ? names[i] : i.ToString(CultureInfo.InvariantCulture),
                    ["accuracy"] = PaperTables.Json(ml.PerLabelAccuracy[i]),
                    ["f1"] = PaperTables.Json(ml.PerLabelF1[i]),
                    ["average_precision"] = PaperTables.Json(ml.PerLabelAveragePrecision[i]),
                });
            }
            o["per_label"] = perLabel;
        }
        if (t.Vqa is { } v)
        {
            var perType = new JsonObject();
            foreach (var (type, acc) in v.PerType)
                perType[type] = new JsonObject { ["accuracy"] = PaperTables.Json(acc.Accuracy), ["correct"] = acc.Correct, ["total"] = acc.Total };
            o["per_type"] = perType;
            o["confusion_matrix"] = Confusion(v.Confusion);
        }
        return o;
    }

    private static JsonObject Confusion(Metrics.ConfusionMatrix m) => new()
    {
        ["labels"] = new JsonArray(m.Labels.Select(l => (JsonNode?)l).ToArray()),
        ["counts"] = new JsonArray(m.ToArray().Select(row => (JsonNode?)new JsonArray(row.Select(c => (JsonNode?)c).ToArray())).ToArray()),
    };

    private static JsonObject Numbers(IReadOnlyDictionary<string, double> values)
    {
        var o = new JsonObject();
        foreach (var (k, v) in values)
            o[k] = PaperTables.Json(v);
        return o;
    }

    // The kind as configuration names it (one spelling: multi_label).
    private static string KindName(TaskKind kind) => kind.Name;

    private static string Number(double value) => double.IsFinite(value) ? value.ToString("F4", CultureInfo.InvariantCulture) : "—";
}
