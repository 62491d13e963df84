// One SpatialNet model, three tasks, two datasets — on a CPU in a few minutes, with no download.
//
//  1. Writes synthetic scenes in the real file formats of UCM-caption (dataset.json + imgs/) and
//     RSVQA-LR (LR_split_*.json + Images_LR/) with SyntheticDatasetWriter.
//  2. Trains ONE model through the library's configured pipeline, reading both back through the real
//     loaders (UcmCaptionDataset, RsvqaDataset): a shared ViT encoder with a land-use classifier and a
//     caption decoder on UCM-caption batches and a VQA head on RSVQA batches, interleaved batch by batch.
//  3. Prints Table I (captioning: the model beside the retrieval baseline) and Table II (RSVQA: the
//     model beside the majority answer per question type) and checks that every task beats chance.
//
// usage: dotnet run -c Release --project samples/SpatialNet.Samples.Multimodal [-- OUTPUT_DIR] [--epochs N] [--threads N]
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Synthetic;
using SpatialNet.Training.Pipeline;

var clock = Stopwatch.StartNew();
var options = Args.Parse(args, "Trains captioning and VQA together on generated scenes: [FOLDER] [--epochs N] [--threads N].",
    ["epochs", "threads"], out int exitCode, positional: "folder");
if (options is null)
    return exitCode;
var root = Path.GetFullPath(options.GetValueOrDefault("folder") ?? Path.Combine(Path.GetTempPath(), "spatialnet-multimodal"));
int epochs = options.TryGetValue("epochs", out var e) ? int.Parse(e, CultureInfo.InvariantCulture) : 12;
// One torch thread by default: this model is small, and on a shared machine more threads mostly wait for each other.
int threads = options.TryGetValue("threads", out var t) ? int.Parse(t, CultureInfo.InvariantCulture) : 1;

// 1. Synthetic scenes in both formats. The two datasets use different generator seeds, so no scene appears in both.
var ucmRoot = Path.Combine(root, "ucm-caption");
var rsvqaRoot = Path.Combine(root, "rsvqa-lr");
var scenes = new SyntheticSceneOptions { ImageSize = 64 };
SyntheticDatasetWriter.WriteUcmCaption(ucmRoot, new SyntheticSceneGenerator(scenes with { Seed = 7 }), imagesPerClass: 40);
SyntheticDatasetWriter.WriteRsvqa(rsvqaRoot, new SyntheticSceneGenerator(scenes with { Seed = 8 }), trainImages: 200, valImages: 40, testImages: 40);
var written = clock.Elapsed.TotalSeconds;
Console.WriteLine($"synthetic data in {root}: UCM-caption {new UcmCaptionDataset(ucmRoot, "train").Count} train / " +
    $"{new UcmCaptionDataset(ucmRoot, "val").Count} val / {new UcmCaptionDataset(ucmRoot, "test").Count} test images; " +
    $"RSVQA {new RsvqaDataset(rsvqaRoot, "train").Count} train / {new RsvqaDataset(rsvqaRoot, "val").Count} val / " +
    $"{new RsvqaDataset(rsvqaRoot, "test").Count} test questions ({written:F1} s)");

// 2. One model, three tasks, two sources: the configuration `spatialnet train --config` reads. Two RSVQA batches for
// each UCM-caption batch (captions and land use are learnt long before the answers); the reported weights are the
// epoch with the lowest summed validation loss.
var configuration = SpatialNetConfiguration.FromJson("""
    {
      "output_dir": "run", "device": "cpu",
      "model": { "image_size": 64, "patch_size": 8, "embed_dim": 64, "depth": 3, "num_heads": 4 },
      "tasks": [
        { "name": "land_use", "kind": "classification" },
        { "name": "caption", "kind": "caption", "retrieval_task": "land_use", "head": { "depth": 2, "decoding": { "beam_width": 3 } } },
        { "name": "vqa", "kind": "vqa", "head": { "depth": 1 } }
      ],
      "loss": { "l2_lambda": 0 },
      "trainer": { "seed": 1, "learning_rate": 0.001, "warmup_fraction": 0.05, "min_lr_ratio": 0.05,
                   "monitor_metric": "loss", "monitor_mode": "min", "early_stopping_patience": 0, "write_charts": false },
      "data": {
        "batch_size": 32, "eval_split": "val", "test_split": "test",
        "sources": [
          { "kind": "ucm-caption", "path": "ucm-caption", "caption_sampling": "per_sentence", "targets": { "land_use": "label", "caption": "caption" } },
          { "kind": "rsvqa", "path": "rsvqa-lr", "proportion": 2, "targets": { "vqa": "answer" } }
        ]
      }
    }
    """, root, [$"trainer:epochs={epochs}", $"threads={threads}"]);

using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; }).SetMinimumLevel(LogLevel.Information));
var run = TrainingPipeline.Run(configuration, logging.CreateLogger("multimodal"), options: new TrainingPipelineOptions { Overwrite = true });

// 3. The paper's tables on the test split, and the above-chance checks.
var report = run.TestReport ?? run.Report;
Console.WriteLine($"\n## Table I — captioning, {report.Result.Split} split (×100)");
Console.WriteLine(PaperTables.CaptioningMarkdown([.. report.Captioning], report.CaptioningRetrievalBaseline));
Console.WriteLine($"## Table II — RSVQA accuracy, {report.Result.Split} split (%)");
Console.WriteLine(PaperTables.VqaMarkdown(report.AllVqaRows()));
foreach (var line in report.SummaryLines())
    Console.WriteLine(line);
Console.WriteLine();

var checks = new List<(string Task, bool Passed, string Detail)>();
var landUse = report.Result.Tasks.Single(t => t.Task.Name == "land_use");
checks.Add(("land_use", landUse.Metrics["accuracy"] > landUse.Chance,
    $"accuracy {landUse.Metrics["accuracy"]:F4} vs chance {landUse.Chance:F4}"));
var model = report.Captioning[0].Scores;
var blind = report.Captioning.Single(r => r.System == CaptionEvaluator.ImageBlindName).Scores;
checks.Add(("caption", model["CIDEr"] > blind["CIDEr"] && model["Bleu_4"] > blind["Bleu_4"],
    $"CIDEr {100 * model["CIDEr"]:F2} vs {100 * blind["CIDEr"]:F2}, BLEU-4 {100 * model["Bleu_4"]:F2} vs {100 * blind["Bleu_4"]:F2} (the most frequent caption, which ignores the image)"));
var vqa = report.Result.Tasks.Single(t => t.Task.Name == "vqa");
checks.Add(("vqa", vqa.Vqa!.OverallAccuracy > vqa.VqaBaseline!.OverallAccuracy && vqa.Vqa.AverageAccuracy > vqa.VqaBaseline.AverageAccuracy,
    $"OA {100 * vqa.Vqa.OverallAccuracy:F2} vs {100 * vqa.VqaBaseline.OverallAccuracy:F2}, AA {100 * vqa.Vqa.AverageAccuracy:F2} vs {100 * vqa.VqaBaseline.AverageAccuracy:F2} (majority answer per question type)"));
foreach (var (task, passed, detail) in checks)
    Console.WriteLine($"{(passed ? "above chance" : "NOT above chance")}  {task}: {detail}");
Console.WriteLine();
Console.WriteLine($"wall time {clock.Elapsed.TotalSeconds:F1} s (data {written:F1} s, training and evaluation {run.ElapsedSeconds:F1} s); report: {run.ReportMarkdown}");
return checks.All(c => c.Passed) ? 0 : 1;
