using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Metrics.Captioning;

namespace SpatialNet.Cli;

/// <summary><c>spatialnet metrics captions|vqa</c>: score any system's output; JSON in, JSON out.</summary>
internal static class MetricsCommands
{
    public const string Help = """
        spatialnet metrics captions --references R.json --candidates C.json [--references-key refs]
                [--candidates-key cands] [--tokenization simple|pretokenized] [--no-meteor] [--output S.json]
                [--wordnet-synsets english.synsets --wordnet-exceptions english.exceptions]
            BLEU-1..4, METEOR 1.5 (exact+stem), ROUGE-L and CIDEr-D exactly as the COCO caption evaluation
            code, corpus and per image. Inputs: {"refs": {id: [captions]}, "cands": {id: caption}} (keys
            selectable), plain {id: [captions]} / {id: caption} objects, or COCO annotation/result lists.
        spatialnet metrics vqa --answers A.json [--no-count-bins] [--output S.json]
            Per-type accuracy, AA, OA and the confusion matrix for RSVQA answers. Input: a list (or
            {"answers": [...]}) of {"type": "count|presence|comp|rural_urban", "expected": "...", "predicted": "..."}.
        """;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static int Run(CommandLine cl, TextWriter output)
    {
        if (cl.Words.Count != 2) throw new UsageException("usage: spatialnet metrics captions|vqa [options]\n" + Help);
        string json = cl.Words[1] switch
        {
            "captions" => Captions(cl),
            "vqa" => Vqa(cl),
            _ => throw new UsageException($"unknown metrics sub-command '{cl.Words[1]}' (allowed: captions, vqa)"),
        };
        var path = cl.Optional("output");
        cl.RejectUnknown();
        if (path is not null) File.WriteAllText(path, json);
        output.WriteLine(json);
        return 0;
    }

    private static string Captions(CommandLine cl)
    {
        var refs = cl.Required("references");
        var cands = cl.Required("candidates");
        var tokenization = cl.Optional("tokenization")?.ToLowerInvariant() switch
        {
            null or "simple" => CaptionTokenization.Simple,
            "pretokenized" or "ptb" => CaptionTokenization.Pretokenized,
            var other => throw new UsageException($"--tokenization: '{other}' is not one of simple, pretokenized"),
        };
        var set = CaptionJson.ReadCaptionSet(refs, cands, cl.Optional("references-key") ?? "refs", cl.Optional("candidates-key") ?? "cands");
        var synsets = cl.Optional("wordnet-synsets");
        var exceptions = cl.Optional("wordnet-exceptions");
        SpatialNet.Training.Metrics.Meteor.MeteorOptions? meteor = null;
        if (synsets is not null || exceptions is not null)
        {
            if (synsets is null || exceptions is null)
                throw new UsageException("--wordnet-synsets and --wordnet-exceptions go together (Meteor's english.synsets and english.exceptions)");
            meteor = new SpatialNet.Training.Metrics.Meteor.MeteorOptions
            {
                Modules = [SpatialNet.Training.Metrics.Meteor.MeteorModule.Exact, SpatialNet.Training.Metrics.Meteor.MeteorModule.Stem, SpatialNet.Training.Metrics.Meteor.MeteorModule.Synonym],
                Synonyms = SpatialNet.Training.Metrics.Meteor.WordNetSynonymDictionary.Load(synsets, exceptions),
            };
        }
        var scorer = new CaptionScorer(new CaptionScorerOptions { Tokenization = tokenization, IncludeMeteor = !cl.Has("no-meteor"), Meteor = meteor });
        return scorer.Score(set).ToJson();
    }

    private static string Vqa(CommandLine cl)
    {
        var path = cl.Required("answers");
        var answers = ReadVqaAnswers(path);
        var result = VqaMetrics.Compute(answers, binCounts: !cl.Has("no-count-bins"));
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
        var root = new JsonObject
        {
            ["per_type"] = perType,
            ["AA"] = result.AverageAccuracy,
            ["OA"] = result.OverallAccuracy,
            ["confusion_labels"] = new JsonArray(result.Confusion.Labels.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
            ["confusion"] = confusion,
        };
        return root.ToJsonString(Indented);
    }

    /// <summary>Reads VQA answers; errors name the file and the offending field.</summary>
    internal static List<VqaAnswer> ReadVqaAnswers(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: answers file not found", path);
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException ex) { throw new InvalidDataException($"{path}: malformed JSON ({ex.Message})", ex); }
        var list = root switch
        {
            JsonArray a => a,
            JsonObject o when o["answers"] is JsonArray a => a,
            _ => throw new InvalidDataException($"{path}: expected a JSON array of answers or an object with an 'answers' array"),
        };
        var answers = new List<VqaAnswer>(list.Count);
        for (int i = 0; i < list.Count; i++)
        {
            string Field(string name) =>
                list[i]?[name] switch
                {
                    JsonValue v when v.TryGetValue<string>(out var s) => s,
                    JsonValue v when v.TryGetValue<long>(out var n) => n.ToString(CultureInfo.InvariantCulture),
                    _ => throw new InvalidDataException($"{path}: answers[{i}].{name} is missing or not a string"),
                };
            var type = Field("type");
            if (!RsvqaQuestionTypes.All.Contains(type))
                throw new InvalidDataException($"{path}: answers[{i}].type '{type}' is not one of {string.Join(", ", RsvqaQuestionTypes.All)}");
            answers.Add(new VqaAnswer(type, Field("expected"), Field("predicted")));
        }
        if (answers.Count == 0) throw new InvalidDataException($"{path}: answers: the list is empty");
        return answers;
    }
}
