// UCM-caption sample: land-use classification (21 UC Merced classes, the class of image n.tif being
// ⌊(n − 1)/100⌋) on the UCM-captions release, trained on its train split, selected on val, scored on test.
// Captioning itself (Table I) needs a caption head; this sample trains the classifier that the
// captioning retrieval baseline builds on.
//
// Usage: dotnet run --project samples/SpatialNet.Samples.UcmCaption -c Release -- --data PATH [--out DIR]
//        [--epochs N] [--image-size 64] [--device cpu|cuda|auto]
// PATH holds dataset.json and imgs/ (or images/). `spatialnet synthetic --format ucm-caption --out DIR`
// writes a synthetic dataset in this format to try it on.
using System.Globalization;
using SpatialNet.Runtime;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Pipeline;
using TorchSharp;

var options = Args.Parse(args, "Trains the caption model on UCM-caption files: --data PATH [--out DIR] [--epochs N] [--image-size 64] [--device cpu|cuda|auto].",
    ["data", "out", "epochs", "image-size", "device"], out int exitCode, required: ["data"]);
if (options is null)
    return exitCode;

TorchNativeRuntime.EnsureInitialized();
// One torch thread per physical core (half the logical processors on SMT machines); see the quickstart.
int threads = Math.Max(1, Environment.ProcessorCount / 2);
torch.set_num_threads(threads);
int imageSize = int.Parse(options.GetValueOrDefault("image-size", "64"), CultureInfo.InvariantCulture);
// Images are resized to image_size when decoded (UC Merced: 256×256). 64 px with patch 8 trains on a CPU;
// the paper's configuration is configs/paper-ucm-caption.json. The options become configuration overrides.
var configuration = SpatialNetConfiguration.FromJson("""
    {
      "output_dir": "spatialnet-ucm",
      "model": { "embed_dim": 128, "depth": 6, "num_heads": 4 },
      "tasks": [ { "name": "land_use", "kind": "classification", "target": "label", "head": { "label_smoothing": 0.1 } } ],
      "loss": { "l2_lambda": 0 },
      "trainer": { "seed": 1, "epochs": 30, "learning_rate": 0.001, "weight_decay": 0.05, "warmup_fraction": 0.05,
                   "monitor_metric": "land_use/accuracy", "early_stopping_patience": 8 },
      "data": { "batch_size": 32, "sources": [ { "kind": "ucm-caption" } ], "eval_split": "val", "test_split": "test" }
    }
    """, Path.GetTempPath(),
    [$"threads={threads}", $"model:image_size={imageSize}", $"model:patch_size={imageSize / 8}", $"data:sources:0:path={options["data"]}",
     $"device={options.GetValueOrDefault("device", "cpu")}", $"trainer:epochs={options.GetValueOrDefault("epochs", "30")}",
     .. options.TryGetValue("out", out var output) ? [$"output_dir={output}"] : Array.Empty<string>()]);

var result = TrainingPipeline.Run(configuration);
Console.WriteLine($"trained {result.Training.EpochsCompleted} epochs in {result.ElapsedSeconds:F0} s");
foreach (var (name, report) in new[] { ("val", result.Report), ("test", result.TestReport) })
{
    if (report is null) continue;
    Console.WriteLine($"{name}:");
    foreach (var line in report.SummaryLines()) Console.WriteLine("  " + line);
}
Console.WriteLine($"report: {result.ReportMarkdown}");
return 0;
