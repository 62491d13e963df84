using SpatialNet.Training.Evaluation;
using SpatialNet.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SpatialNet.Training.Checkpoints;

namespace SpatialNet.Cli.Output;

/// <summary>
/// <c>spatialnet evaluate … --tables</c>: the paper's Table I (captioning, with the retrieval baseline
/// rows) and Table II (RSVQA, with the majority-per-type baseline) of an evaluation, printed and written
/// as <c>tables_{split}.md</c> and <c>tables_{split}.json</c>.
/// </summary>
internal static class TablesOutput
{
    /// <summary>Prints the tables of <paramref name="report"/> and writes them into <paramref name="directory"/>; returns the Markdown path.</summary>
    public static string Write(EvaluationReport report, string directory, TextWriter output)
    {
        var split = report.Result.Split;
        var markdown = new StringBuilder();
        var json = new JsonObject { ["split"] = split };
        bool captioning = report.Captioning.Count > 0 || report.CaptioningRetrievalBaseline is not null;
        if (captioning)
        {
            markdown.Append("## Table I — captioning, ").Append(split).Append(" split (×100)\n\n")
                .Append(PaperTables.CaptioningMarkdown([.. report.Captioning], report.CaptioningRetrievalBaseline)).Append('\n');
            json["table_i"] = PaperTables.CaptioningJson([.. report.Captioning], report.CaptioningRetrievalBaseline);
        }
        var vqa = report.AllVqaRows();
        if (vqa.Count > 0)
        {
            markdown.Append("## Table II — RSVQA accuracy, ").Append(split).Append(" split (%)\n\n")
                .Append(PaperTables.VqaMarkdown(vqa)).Append('\n');
            json["table_ii"] = PaperTables.VqaJson(vqa);
        }
        if (!captioning && vqa.Count == 0)
            markdown.Append("No caption or VQA task was evaluated, so there is no Table I or Table II.\n");

        Directory.CreateDirectory(directory);
        var markdownPath = Path.Combine(directory, $"tables_{split}.md");
        AtomicFile.WriteAllText(markdownPath, markdown.ToString());
        AtomicFile.WriteAllText(Path.Combine(directory, $"tables_{split}.json"),
            json.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        output.WriteLine();
        output.Write(markdown.ToString());
        return markdownPath;
    }
}
