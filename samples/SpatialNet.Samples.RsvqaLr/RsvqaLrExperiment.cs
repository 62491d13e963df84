using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Training.Data;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Reports;
using SpatialNet.Training.Transforms;
using SpatialNet.Training.Vqa;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Samples.RsvqaLr;

/// <summary>The RSVQA-LR experiment of issue 4 §5 (protocol in docs/rsvqa.md).</summary>
internal static class RsvqaLrExperiment
{
    public const string Task = "rsvqa";

    /// <summary>What the model is given for each question (stated in the report).</summary>
    public const string ModelInput =
        "For each question the model sees exactly two things: the image the question is about (RGB, decoded once, resized to the " +
        "configured square size, normalised per band with training-split statistics) and the question's own token ids. It never " +
        "sees other questions or answers of the same image, the question type, the image id or any metadata. Batches group " +
        "questions only so that each image is encoded once; every question is answered from its own image tokens and its own text.";

    public static int Run(ExperimentOptions o)
    {
        var clock = Stopwatch.StartNew();
        torch.set_num_threads(o.Threads);
        torch.manual_seed(o.Seed);
        Directory.CreateDirectory(o.Out);
        var logger = new ConsoleLogger(clock);

        // Decode every image once, at the training size (ImageCache), shared by both splits.
        var cache = new ImageCache(new ImageLoadOptions { ExpectedBands = 3, Height = o.ImageSize, Width = o.ImageSize });
        var train = new RsvqaDataset(o.Data, "train", new RsvqaOptions { Cache = cache });
        var val = new RsvqaDataset(o.Data, "val", new RsvqaOptions { Cache = cache });
        var questionEncoder = train.BuildQuestionEncoder(maxLength: 32);
        var answers = train.BuildAnswerVocabulary();
        Console.WriteLine($"train: {train.Images.Count} images, {train.Count} questions; val: {val.Images.Count} images, {val.Count} questions; " +
                          $"{questionEncoder.Vocabulary.Count} question tokens, {answers.Count} answers ({string.Join(", ", answers.Answers)})");

        // The two language-only baselines of issue 4, from the training split.
        var baselines = VqaBaselines.Fit(train.Questions.Select(VqaExample.From));
        var valExamples = val.Questions.Select(VqaExample.From).ToArray();
        var baselineRows = baselines.Select(b => new VqaRow(b.Name, VqaBaselines.Score(b, valExamples))).ToArray();

        var statistics = train.ComputeNormalizationStatistics();
        var preprocess = new BatchTransformPipeline(new ToFloat(), new Normalize(statistics));
        using var trainBank = VqaQuestionBank.Create(train, questionEncoder, answers);
        using var valBank = VqaQuestionBank.Create(val, questionEncoder, answers);
        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] images decoded and cached at {o.ImageSize}×{o.ImageSize}; band mean " +
                          $"[{string.Join(", ", statistics.Mean.Select(m => m.ToString("F3", CultureInfo.InvariantCulture)))}], std " +
                          $"[{string.Join(", ", statistics.Std.Select(s => s.ToString("F3", CultureInfo.InvariantCulture)))}]");

        using var services = BuildServices(o, questionEncoder.Vocabulary.Count, answers.Count);
        var model = services.GetRequiredService<MultiTaskModel>();
        var composer = services.GetRequiredService<ILossComposer>();
        var head = (VqaHead)model.Head(Task);
        var trainable = new DelegateTrainable(model, batch =>
        {
            var logits = VqaForward.Logits(model, Task, batch);
            var losses = new Dictionary<string, Tensor> { [Task] = head.Loss(logits, batch[SampleKeys.Answer], batch) };
            return new TrainingLosses(composer.Compose(losses, LossContext.None).Total, losses);
        });

        using var source = new VqaBatchSource(trainBank, new VqaBatchSourceOptions
        {
            BatchSize = o.Batch,
            Seed = (ulong)o.Seed,
            Preprocess = preprocess,
            FlipRotate = o.FlipRotate != 0,
            LengthBucketBatches = o.LengthBuckets,
            ImageDropProbability = o.ImageDrop,
            Repeats = new Dictionary<RsvqaQuestionType, int> { [RsvqaQuestionType.RuralUrban] = o.RuralUrbanRepeat },
        });
        var evaluator = new VqaEvaluator(Task, answers, preprocess);
        var best = new BestWeights();
        var epochEvaluator = new DelegateEvaluator(context =>
        {
            var result = evaluator.Evaluate(model, valBank).Result;
            var metrics = Metrics(result);
            if (best.Offer(metrics[ScoreMetric], context.Epoch, model))
                metrics["best"] = 1;
            Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] epoch {context.Epoch}/{o.Epochs} val: {Describe(result)}{(metrics.ContainsKey("best") ? "  (best so far)" : "")}");
            metrics.Remove("best");
            return metrics;
        });

        var trainerOptions = new TrainerOptions
        {
            Epochs = o.Epochs,
            LearningRate = o.LearningRate,
            WeightDecay = o.WeightDecay,
            WarmupSteps = (long)Math.Round(o.WarmupEpochs * source.BatchesPerEpoch),
            MinLrRatio = 0.01,
            GradientClipNorm = 1.0,
            Seed = (ulong)o.Seed,
            MonitorMetric = ScoreMetric,
            MonitorMode = MetricMode.Max,
            EarlyStoppingPatience = 0,
            CheckpointDirectory = Path.Combine(o.Out, "checkpoints"),
            OutputDirectory = o.Out,
        };
        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] model: {model.parameters().Sum(p => p.numel()):N0} parameters; " +
                          $"{source.QuestionsPerEpoch} questions per epoch in {source.BatchesPerEpoch} batches; {o.Threads} torch threads");
        var trainClock = Stopwatch.StartNew();
        TrainingResult fit;
        using (var trainer = new Trainer(trainable, source, trainerOptions, epochEvaluator, logger))
            fit = trainer.Fit();
        trainClock.Stop();

        // The last epoch (no selection), then the selected epoch: the best val score (mean of AA and OA).
        var last = evaluator.Evaluate(model, valBank);
        best.Restore(model);
        var final = evaluator.Evaluate(model, valBank);
        var onTrain = evaluator.Evaluate(model, trainBank).Result;
        Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] selected epoch {best.Epoch} on train: {Describe(onTrain)}");
        var blind = new VqaEvaluator(Task, answers, new BatchTransformPipeline(preprocess, new BlankImages())).Evaluate(model, valBank);
        var rows = new List<VqaRow>
        {
            new($"SpatialNet ViT + VQA head (epoch {best.Epoch} of {fit.EpochsCompleted}, selected on val)", final.Result),
        };
        rows.AddRange(baselineRows);
        rows.Add(new VqaRow($"The same model at its last epoch ({fit.EpochsCompleted}, no selection)", last.Result));
        rows.Add(new VqaRow("Ablation: the same model with every val image replaced by the training mean colour", blind.Result));
        var checks = Checks(final.Result, baselineRows[0].Result, baselineRows[1].Result);
        var split = SeenUnseen((QuestionOnlyLookupBaseline)baselines[1], valExamples, final);

        WriteReport(o, rows, checks, split, fit, best.Epoch, trainClock.Elapsed, clock.Elapsed, final);
        Console.WriteLine();
        Console.WriteLine(PaperTables.VqaMarkdown(rows));
        foreach (var (check, ok) in checks) Console.WriteLine($"{(ok ? "PASS" : "FAIL")}  {check}");
        Console.WriteLine(split);
        Console.WriteLine($"training wall time {trainClock.Elapsed:mm\\:ss}, total {clock.Elapsed:mm\\:ss}; report in {Path.GetFullPath(o.Out)}");
        return checks.All(c => c.Ok) ? 0 : 1;
    }

    private const string ScoreMetric = "val_score";

    private static ServiceProvider BuildServices(ExperimentOptions o, int vocabSize, int answerCount)
    {
        var services = new ServiceCollection();
        services.AddSpatialNet(sn => sn
            .UseVisionTransformer(v =>
            {
                v.ImageSize = o.ImageSize;
                v.PatchSize = o.Patch;
                v.EmbedDim = o.Dim;
                v.Depth = o.Depth;
                v.NumHeads = o.Heads;
                v.DropRate = o.ImageDropout;
                v.DropPathRate = o.DropPath;
            })
            .AddVqaTask(Task, answerCount, vocabSize, q =>
            {
                q.Fusion = VqaFusionKind.CrossAttention;
                q.Depth = o.TextDepth;
                q.NumHeads = o.Heads;
                q.FusionDepth = o.FusionDepth;
                q.ClassifierHiddenDim = o.Hidden;
                q.Dropout = o.Dropout;
                q.TextDropRate = o.TextDropout;
                q.LabelSmoothing = o.LabelSmoothing;
                q.MaxLength = 32;
                q.CountRegression = o.CountLoss > 0;
                q.CountLossWeight = o.CountLoss;
                q.CountInput = SampleKeys.Count;
            }));
        var provider = services.BuildServiceProvider();
        provider.ValidateSpatialNet();
        return provider;
    }

    private static Dictionary<string, double> Metrics(VqaResult result)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["val_aa"] = result.AverageAccuracy,
            ["val_oa"] = result.OverallAccuracy,
            [ScoreMetric] = (result.AverageAccuracy + result.OverallAccuracy) / 2,
        };
        foreach (var (type, acc) in result.PerType) metrics["val_" + type] = acc.Accuracy;
        return metrics;
    }

    private static string Describe(VqaResult r) =>
        string.Join(' ', PaperTables.VqaColumns.Select(c => $"{c.Header} {(PaperTables.VqaValue(r, c.Header, c.Type) is { } v ? PaperTables.Percent(v) : "—")}"));

    /// <summary>The targets of issue 4 §5.</summary>
    private static List<(string Check, bool Ok)> Checks(VqaResult model, VqaResult majority, VqaResult lookup)
    {
        var checks = new List<(string, bool)>();
        foreach (var (header, type) in PaperTables.VqaColumns.Where(c => c.Type is not null))
        {
            var m = model.PerType[type!].Accuracy;
            var b = majority.PerType[type!].Accuracy;
            checks.Add(($"{header}: model {PaperTables.Percent(m)} > majority {PaperTables.Percent(b)}", m > b));
        }
        checks.Add(($"AA: model {PaperTables.Percent(model.AverageAccuracy)} > question-only lookup {PaperTables.Percent(lookup.AverageAccuracy)}", model.AverageAccuracy > lookup.AverageAccuracy));
        checks.Add(($"OA: model {PaperTables.Percent(model.OverallAccuracy)} > question-only lookup {PaperTables.Percent(lookup.OverallAccuracy)}", model.OverallAccuracy > lookup.OverallAccuracy));
        return checks;
    }

    /// <summary>Model and lookup accuracy on val questions whose normalised text occurs in training, and on the others.</summary>
    private static string SeenUnseen(QuestionOnlyLookupBaseline lookup, IReadOnlyList<VqaExample> val, VqaEvaluation model)
    {
        var parts = new List<string>();
        foreach (var seen in new[] { true, false })
        {
            var indices = Enumerable.Range(0, val.Count).Where(i => lookup.Knows(val[i].QuestionType, val[i].Question) == seen).ToArray();
            if (indices.Length == 0) continue;
            var lookupRight = indices.Count(i => Same(val[i], lookup.Predict(val[i].QuestionType, val[i].Question)));
            var modelRight = indices.Count(i => Same(val[i], model.Predictions[i].Predicted));
            parts.Add($"{indices.Length} val questions {(seen ? "whose normalised text occurs" : "whose text never occurs")} in train: " +
                      $"model {PaperTables.Percent(modelRight / (double)indices.Length)}, lookup {PaperTables.Percent(lookupRight / (double)indices.Length)}");
        }
        return string.Join("; ", parts);

        static bool Same(VqaExample e, string predicted) =>
            e.Label == (e.QuestionType == RsvqaQuestionTypes.Count ? CountAnswerBins.Normalize(predicted) : predicted);
    }

    private static void WriteReport(ExperimentOptions o, IReadOnlyList<VqaRow> rows, List<(string Check, bool Ok)> checks, string split, TrainingResult fit,
        int bestEpoch, TimeSpan training, TimeSpan total, VqaEvaluation final)
    {
        var machine = $"{RuntimeInformation.OSDescription}, {Environment.ProcessorCount} logical CPUs, {RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}";
        var date = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        var md = new StringBuilder();
        md.Append("# RSVQA-LR sample, val split (Table II layout)\n\n");
        md.Append(PaperTables.VqaMarkdown(rows)).Append('\n');
        foreach (var (check, ok) in checks) md.Append("- ").Append(ok ? "PASS " : "FAIL ").Append(check).Append('\n');
        md.Append("- ").Append(split).Append('\n');
        md.Append('\n').Append("- Command: `").Append(o.CommandLine()).Append("`\n");
        md.Append("- Date: ").Append(date).Append("; machine: ").Append(machine).Append('\n');
        md.Append(CultureInfo.InvariantCulture, $"- Training wall time {training:mm\\:ss} ({fit.EpochsCompleted} epochs, {fit.GlobalStep} steps, {o.Threads} torch threads); whole run {total:mm\\:ss}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Selected epoch {bestEpoch} by the mean of val AA and OA; baselines computed from the training split only\n");
        md.Append("- What the model sees: ").Append(ModelInput).Append('\n');
        File.WriteAllText(Path.Combine(o.Out, "table_ii.md"), md.ToString());

        var json = PaperTables.VqaJson(rows);
        json["checks"] = new JsonArray(checks.Select(c => (JsonNode?)new JsonObject { ["check"] = c.Check, ["pass"] = c.Ok }).ToArray());
        json["seen_unseen"] = split;
        json["command"] = o.CommandLine();
        json["options"] = o.ToJson();
        json["date"] = date;
        json["machine"] = machine;
        json["training_seconds"] = Math.Round(training.TotalSeconds, 1);
        json["total_seconds"] = Math.Round(total.TotalSeconds, 1);
        json["epochs_trained"] = fit.EpochsCompleted;
        json["selected_epoch"] = bestEpoch;
        json["model_input"] = ModelInput;
        File.WriteAllText(Path.Combine(o.Out, "table_ii.json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(o.Out, "val_predictions.json"), JsonSerializer.Serialize(final.Predictions, new JsonSerializerOptions { WriteIndented = false }));
    }

    /// <summary>Replaces every image by zeros after normalisation, i.e. by the training mean colour (the blind ablation).</summary>
    private sealed class BlankImages : IBatchTransform
    {
        public void Apply(Batch batch) => batch.Set(SampleKeys.Image, zeros_like(batch[SampleKeys.Image]));
    }

    /// <summary>Keeps a copy of the weights of the best epoch so far.</summary>
    private sealed class BestWeights
    {
        private Dictionary<string, Tensor>? _weights;
        private double _score = double.NegativeInfinity;

        public int Epoch { get; private set; }

        public bool Offer(double score, int epoch, nn.Module model)
        {
            if (!(score > _score)) return false;
            _score = score;
            Epoch = epoch;
            if (_weights is not null) foreach (var t in _weights.Values) t.Dispose();
            _weights = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());
            return true;
        }

        public void Restore(nn.Module model)
        {
            if (_weights is null) return;
            using var noGrad = torch.no_grad();
            foreach (var (name, t) in model.state_dict()) t.copy_(_weights[name]);
        }
    }
}
