using SpatialNet.IO;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SpatialNet.Cli.Output;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Metrics.Captioning;
using SpatialNet.Training.Metrics.Meteor;
using Spectre.Console;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet metrics captions|vqa</c>: scores any system's output; JSON in, a table or JSON out.</summary>
internal static class MetricsCommand
{
    public static Command Create() => new("metrics", "Score a system's captions or VQA answers.") { Captions(), Vqa() };

    private static Command Captions()
    {
        var references = new Option<string>("--references", "-r") { Description = "Reference captions: {\"refs\": {id: [captions]}}, a plain {id: [captions]} object, or COCO annotations.", Required = true, HelpName = "FILE" };
        var candidates = new Option<string>("--candidates", "-c") { Description = "Candidate captions: {\"cands\": {id: caption}}, a plain {id: caption} object, or COCO results.", Required = true, HelpName = "FILE" };
        var referencesKey = new Option<string>("--references-key") { Description = "Key of the references inside the file.", DefaultValueFactory = _ => "refs", HelpName = "KEY" };
        var candidatesKey = new Option<string>("--candidates-key") { Description = "Key of the candidates inside the file.", DefaultValueFactory = _ => "cands", HelpName = "KEY" };
        var tokenization = new Option<string>("--tokenization") { Description = "simple (lower-case, strip punctuation) or pretokenized (the text is PTB-tokenised already).", DefaultValueFactory = _ => "simple" }
            .OneOf("simple", "pretokenized", "ptb");
        var noMeteor = new Option<bool>("--no-meteor") { Description = "Skip METEOR." };
        var synsets = new Option<string?>("--wordnet-synsets") { Description = "Meteor's english.synsets (adds the synonym module; with --wordnet-exceptions).", HelpName = "FILE" };
        var exceptions = new Option<string?>("--wordnet-exceptions") { Description = "Meteor's english.exceptions (with --wordnet-synsets).", HelpName = "FILE" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the corpus and per-image scores as JSON to this file.", HelpName = "FILE" };
        var json = CommonOptions.Json();
        var command = new Command("captions", "BLEU-1..4, METEOR 1.5 (exact+stem), ROUGE-L and CIDEr-D exactly as the COCO caption evaluation code, corpus and per image.")
        {
            references, candidates, referencesKey, candidatesKey, tokenization, noMeteor, synsets, exceptions, output, json,
        };
        command.Validators.Add(r =>
        {
            if ((r.GetValue(synsets) is null) != (r.GetValue(exceptions) is null))
                r.AddError("--wordnet-synsets and --wordnet-exceptions go together (Meteor's english.synsets and english.exceptions)");
        });
        command.SetAction(parse =>
        {
            var set = CaptionJson.ReadCaptionSet(parse.GetRequiredValue(references), parse.GetRequiredValue(candidates),
                parse.GetRequiredValue(referencesKey), parse.GetRequiredValue(candidatesKey));
            MeteorOptions? meteor = parse.GetValue(synsets) is { } s && parse.GetValue(exceptions) is { } e
                ? new MeteorOptions { Modules = [MeteorModule.Exact, MeteorModule.Stem, MeteorModule.Synonym], Synonyms = WordNetSynonymDictionary.Load(s, e) }
                : null;
            var scorer = new CaptionScorer(new CaptionScorerOptions
            {
                Tokenization = parse.GetValue(tokenization) == "simple" ? CaptionTokenization.Simple : CaptionTokenization.Pretokenized,
                IncludeMeteor = !parse.GetValue(noMeteor),
                Meteor = meteor,
            });
            var scores = scorer.Score(set);
            var text = scores.ToJson();
            if (parse.GetValue(output) is { } path) AtomicFile.WriteAllText(path, text);
            var o = parse.Output();
            if (parse.GetValue(json))
            {
                o.WriteLine(text);
                return 0;
            }
            var names = CaptionScores.MetricNames.Where(scores.Corpus.ContainsKey).ToList();
            var table = new Table { Border = TableBorder.Rounded, Caption = new TableTitle($"{scores.ImageOrder.Count} images, corpus scores") };
            foreach (var name in names)
                table.AddColumn(new TableColumn(name).RightAligned());
            table.AddRow(names.Select(n => scores.Corpus[n].ToString("F4", CultureInfo.InvariantCulture)).ToArray());
            Consoles.Create(o).Write(table);
            if (parse.GetValue(output) is { } written)
                o.WriteLine($"per-image scores: {written}");
            return 0;
        });
        return command;
    }

    private static Command Vqa()
    {
        var answers = new Option<string>("--answers", "-a") { Description = "A list (or {\"answers\": [...]}) of {\"type\": \"count|presence|comp|rural_urban\", \"expected\": \"...\", \"predicted\": \"...\"}.", Required = true, HelpName = "FILE" };
        var noCountBins = new Option<bool>("--no-count-bins") { Description = "Score counts exactly instead of in RSVQA's bins (0, 1-10, 11-100, 101-1000, >1000)." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the scores as JSON to this file.", HelpName = "FILE" };
        var json = CommonOptions.Json();
        var command = new Command("vqa", "Per-type accuracy, AA, OA and the confusion matrix of RSVQA answers.") { answers, noCountBins, output, json };
        command.SetAction(parse =>
        {
            bool bins = !parse.GetValue(noCountBins);
            var result = VqaMetrics.Compute(ReadVqaAnswers(parse.GetRequiredValue(answers), bins), binCounts: bins);
            var perType = new JsonObject();
            foreach (var (type, acc) in result.PerType)
                perType[type] = new JsonObject { ["accuracy"] = acc.Accuracy, ["correct"] = acc.Correct, ["total"] = acc.Total };
            var confusion = new JsonArray();
            for (int i = 0; i < result.Confusion.Size; i++)
            {
                var row = new JsonArray();
                for (int j = 0; j < result.Confusion.Size; j++) row.Add(result.Confusion[i, j]);
                confusion.Add(row);
            }
            var text = new JsonObject
            {
                ["per_type"] = perType,
                ["AA"] = result.AverageAccuracy,
                ["OA"] = result.OverallAccuracy,
                ["confusion_labels"] = new JsonArray(result.Confusion.Labels.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
                ["confusion"] = confusion,
            }.ToJsonString(CommonOptions.Indented);
            if (parse.GetValue(output) is { } path) AtomicFile.WriteAllText(path, text);
            var o = parse.Output();
            if (parse.GetValue(json))
            {
                o.WriteLine(text);
                return 0;
            }
            var table = new Table { Border = TableBorder.Rounded }
                .AddColumn("question type").AddColumn(new TableColumn("accuracy").RightAligned()).AddColumn(new TableColumn("correct").RightAligned());
            foreach (var (type, acc) in result.PerType)
                table.AddRow(type, FormattableString.Invariant($"{100 * acc.Accuracy:F2} %"), FormattableString.Invariant($"{acc.Correct}/{acc.Total}"));
            table.AddRow("AA", FormattableString.Invariant($"{100 * result.AverageAccuracy:F2} %"), "");
            table.AddRow("OA", FormattableString.Invariant($"{100 * result.OverallAccuracy:F2} %"), "");
            Consoles.Create(o).Write(table);
            return 0;
        });
        return command;
    }

    /// <summary>Reads VQA answers; errors name the file and the offending field.</summary>
    /// <param name="path">The answers file.</param>
    /// <param name="binCounts">Counts are scored in bins: a count truth must then be a count or a bin.</param>
    internal static List<VqaAnswer> ReadVqaAnswers(string path, bool binCounts = true)
    {
        if (!File.Exists(path)) throw new DatasetFileNotFoundException(path, null, "answers file not found.");
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException ex) { throw new DatasetFormatException(path, null, $"malformed JSON ({ex.Message}).", ex); }
        var list = root switch
        {
            JsonArray a => a,
            JsonObject o when o["answers"] is JsonArray a => a,
            _ => throw new DatasetFormatException(path, null, "expected a JSON array of answers or an object with an 'answers' array."),
        };
        var answers = new List<VqaAnswer>(list.Count);
        for (int i = 0; i < list.Count; i++)
        {
            string Field(string name) =>
                list[i]?[name] switch
                {
                    JsonValue v when v.TryGetValue<string>(out var s) => s,
                    JsonValue v when v.TryGetValue<long>(out var n) => n.ToString(CultureInfo.InvariantCulture),
                    _ => throw new DatasetFormatException(path, $"answers[{i}].{name}", "missing or not a string."),
                };
            var type = Field("type");
            if (!RsvqaQuestionTypes.All.Contains(type))
                throw new DatasetFormatException(path, $"answers[{i}].type", $"'{type}' is not one of {string.Join(", ", RsvqaQuestionTypes.All)}.");
            var expected = Field("expected");
            // "many" == "many" compared as strings would score as right although counts are scored in bins.
            if (binCounts && type == RsvqaQuestionTypes.Count && !CountAnswerBins.Labels.Contains(CountAnswerBins.Normalize(expected)))
                throw new DatasetFormatException(path, $"answers[{i}].expected",
                    $"count answer '{expected}' is neither a non-negative integer nor a count bin ({string.Join(", ", CountAnswerBins.Labels)}); " +
                    "counts are scored in bins (--no-count-bins compares them exactly).");
            answers.Add(new VqaAnswer(type, expected, Field("predicted")));
        }
        if (answers.Count == 0) throw new DatasetFormatException(path, "answers", "the list is empty.");
        return answers;
    }
}
