using SpatialNet.IO;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SpatialNet.Cli.Output;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Metrics.Captioning;
using SpatialNet.Training.Metrics.Meteor;
using Spectre.Console;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet metrics captions|vqa</c>: scores any system's output; JSON in, a table or JSON out.</summary>
internal static class MetricsCommand
{
    public static Command Create() => new("metrics", "Score a system's captions, VQA answers or segmentation masks.") { Captions(), Vqa(), Segmentation() };

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

    private static Command Segmentation()
    {
        var references = new Option<string>("--references", "-r") { Description = "Folder of reference masks: single-band class indices, PNG or GeoTIFF.", Required = true, HelpName = "DIR" };
        var predictions = new Option<string>("--predictions", "-p") { Description = "Folder of predicted masks, matched to the references by file name (extension aside).", Required = true, HelpName = "DIR" };
        var ignoreIndex = new Option<int>("--ignore-index") { Description = "Label value left out of every area.", DefaultValueFactory = _ => 255, HelpName = "N" };
        var reduceZero = new Option<bool>("--reduce-zero-label") { Description = "Label 0 is unlabelled: ignore it and shift the other labels down by one (mmsegmentation's reduce_zero_label)." };
        var numClasses = new Option<int?>("--num-classes") { Description = "Number of classes (default: the largest reference label + 1).", HelpName = "N" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the scores as JSON to this file.", HelpName = "FILE" };
        var json = CommonOptions.Json();
        var command = new Command("segmentation", "aAcc, mIoU, mAcc, mDice, mFscore and per-class IoU/Acc over two folders of masks, as mmsegmentation's IoUMetric (areas summed over all images).")
        {
            references, predictions, ignoreIndex, reduceZero, numClasses, output, json,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(numClasses) is < 1) r.AddError("--num-classes must be at least 1");
        });
        command.SetAction(parse =>
        {
            var (result, images) = ScoreMaskFolders(parse.GetRequiredValue(references), parse.GetRequiredValue(predictions),
                parse.GetValue(numClasses), parse.GetValue(ignoreIndex), parse.GetValue(reduceZero));
            static JsonNode? Number(double v) => double.IsNaN(v) ? null : JsonValue.Create(v);
            var perClass = new JsonArray();
            for (int c = 0; c < result.Areas.NumClasses; c++)
                perClass.Add(new JsonObject
                {
                    ["class"] = c,
                    ["iou"] = Number(result.PerClassIoU[c]),
                    ["acc"] = Number(result.PerClassAccuracy[c]),
                    ["dice"] = Number(result.PerClassDice[c]),
                    ["fscore"] = Number(result.PerClassFscore[c]),
                    ["label_pixels"] = result.Areas.Labelled[c],
                    ["predicted_pixels"] = result.Areas.Predicted[c],
                });
            var text = new JsonObject
            {
                ["aAcc"] = Number(result.AllAccuracy),
                ["mIoU"] = Number(result.MeanIoU),
                ["mAcc"] = Number(result.MeanAccuracy),
                ["mDice"] = Number(result.MeanDice),
                ["mFscore"] = Number(result.MeanFscore),
                ["mPrecision"] = Number(result.MeanPrecision),
                ["mRecall"] = Number(result.MeanRecall),
                ["per_class"] = perClass,
                ["images"] = images,
                ["num_classes"] = result.Areas.NumClasses,
                ["ignore_index"] = result.Areas.IgnoreIndex,
                ["reduce_zero_label"] = result.Areas.ReduceZeroLabel,
            }.ToJsonString(CommonOptions.Indented);
            if (parse.GetValue(output) is { } path) AtomicFile.WriteAllText(path, text);
            var o = parse.Output();
            if (parse.GetValue(json))
            {
                o.WriteLine(text);
                return 0;
            }
            static string Percent(double v) => double.IsNaN(v) ? "–" : FormattableString.Invariant($"{100 * v:F2}");
            var table = new Table { Border = TableBorder.Rounded, Caption = new TableTitle($"{images} images; per cent; – : class absent (left out of the means)") }
                .AddColumn("class").AddColumn(new TableColumn("IoU").RightAligned()).AddColumn(new TableColumn("Acc").RightAligned())
                .AddColumn(new TableColumn("Dice").RightAligned()).AddColumn(new TableColumn("Fscore").RightAligned());
            for (int c = 0; c < result.Areas.NumClasses; c++)
                table.AddRow(c.ToString(CultureInfo.InvariantCulture), Percent(result.PerClassIoU[c]), Percent(result.PerClassAccuracy[c]),
                    Percent(result.PerClassDice[c]), Percent(result.PerClassFscore[c]));
            table.AddRow("mean", Percent(result.MeanIoU), Percent(result.MeanAccuracy), Percent(result.MeanDice), Percent(result.MeanFscore));
            Consoles.Create(o).Write(table);
            o.WriteLine(FormattableString.Invariant($"aAcc {Percent(result.AllAccuracy)}  mIoU {Percent(result.MeanIoU)}  mAcc {Percent(result.MeanAccuracy)}"));
            return 0;
        });
        return command;
    }

    /// <summary>Scores every reference mask against the prediction of the same name; errors name the file.</summary>
    internal static (SegmentationResult Result, int Images) ScoreMaskFolders(string referenceDir, string predictionDir, int? numClasses, int ignoreIndex, bool reduceZeroLabel)
    {
        static Dictionary<string, string> Masks(string dir, string option)
        {
            if (!Directory.Exists(dir)) throw new DatasetFileNotFoundException(dir, option, "folder not found.");
            var masks = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
            {
                if (!ImageDecoder.KnownExtensions.Contains(Path.GetExtension(file).ToLowerInvariant())) continue;
                if (!masks.TryAdd(Path.GetFileNameWithoutExtension(file), file))
                    throw new DatasetFormatException(file, option, $"two masks share the name '{Path.GetFileNameWithoutExtension(file)}' ({Path.GetFileName(masks[Path.GetFileNameWithoutExtension(file)])} and {Path.GetFileName(file)}).");
            }
            if (masks.Count == 0) throw new DatasetFormatException(dir, option, $"no mask ({string.Join(", ", ImageDecoder.KnownExtensions)}) in the folder.");
            return masks;
        }
        var refs = Masks(referenceDir, "--references");
        var preds = Masks(predictionDir, "--predictions");
        foreach (var name in refs.Keys)
            if (!preds.ContainsKey(name))
                throw new DatasetFileNotFoundException(Path.Combine(predictionDir, name + Path.GetExtension(refs[name])), "--predictions",
                    $"no prediction for the reference mask {refs[name]}.");
        int classes = numClasses ?? InferClasses(refs.Values, ignoreIndex, reduceZeroLabel);
        var areas = new SegmentationAreas(classes, ignoreIndex, reduceZeroLabel);
        foreach (var (name, refPath) in refs)
        {
            var reference = LabelMask.Read(refPath);
            var prediction = LabelMask.Read(preds[name]);
            if (reference.Height != prediction.Height || reference.Width != prediction.Width)
                throw new DatasetFormatException(preds[name], "size",
                    $"the prediction is {prediction.Width}×{prediction.Height} but its reference {refPath} is {reference.Width}×{reference.Height}.");
            reference.CheckClasses(refPath, classes, ignoreIndex, reduceZeroLabel);
            areas.Add(reference.Values, prediction.Values);
        }
        if (areas.Labelled.Sum() == 0)
            throw new DatasetFormatException(referenceDir, "--references", $"every reference pixel is the ignore value {ignoreIndex}{(reduceZeroLabel ? " or 0 (reduce_zero_label)" : "")}: nothing to score.");
        return (areas.Compute(), refs.Count);
    }

    private static int InferClasses(IEnumerable<string> paths, int ignoreIndex, bool reduceZeroLabel)
    {
        int max = -1;
        foreach (var path in paths)
            foreach (var v in LabelMask.Read(path).Values)
            {
                if (v == ignoreIndex) continue;
                int c = reduceZeroLabel ? v - 1 : v;
                if (c > max) max = c;
            }
        return Math.Max(1, max + 1);
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
