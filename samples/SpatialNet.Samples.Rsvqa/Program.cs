// RSVQA sample: visual question answering on RSVQA-LR with the VQA head (question encoder,
// cross-attention from the question to the image tokens, answer classifier over the training split's
// answers, counts as the RSVQA bins), scored the way the RSVQA paper does — accuracy per question type,
// AA, OA (Table II) — beside the majority answer per question type.
//
// --baseline trains instead an image-only answer classifier (question-agnostic; its answer combines
// p(answer | image) with the question type's answer frequencies), to show how much the image alone says.
// Small defaults (64×64 images, 5 epochs) so that it finishes on a CPU; the paper's protocol and the
// question-only baseline are in docs/multimodal.md.
//
// Usage: dotnet run --project samples/SpatialNet.Samples.Rsvqa -c Release -- --data PATH [--out DIR]
//        [--epochs N] [--image-size 64] [--device cpu|cuda|auto] [--baseline true]
// PATH holds LR_split_{train,val}_{images,questions,answers}.json and Images_LR/. `spatialnet synthetic
// --format rsvqa --out DIR` writes a synthetic dataset in this format to try it on.
using System.Globalization;
using SpatialNet.Runtime;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Pipeline;
using TorchSharp;

var options = Args.Parse(args, "Trains the VQA model on RSVQA-LR files: --data PATH [--out DIR] [--epochs N] [--image-size 64] [--device cpu|cuda|auto] [--baseline true].",
    ["data", "out", "epochs", "image-size", "device", "baseline"], out int exitCode, required: ["data"]);
if (options is null)
    return exitCode;
bool imageOnly = options.GetValueOrDefault("baseline", "false") == "true";

TorchNativeRuntime.EnsureInitialized();
// One torch thread per physical core (half the logical processors on SMT machines); see the quickstart.
int threads = Math.Max(1, Environment.ProcessorCount / 2);
torch.set_num_threads(threads);
int imageSize = int.Parse(options.GetValueOrDefault("image-size", "64"), CultureInfo.InvariantCulture);
// "vqa": answers = the training split's answer vocabulary (count answers as the baseline's bins), scored per type.
// Flips and rotations are skipped for questions that mention left, right, top or bottom (the RSVQA rule).
var configuration = SpatialNetConfiguration.FromJson("""
    {
      "output_dir": "spatialnet-rsvqa",
      "model": { "embed_dim": 128, "depth": 4, "num_heads": 4 },
      "tasks": [ { "name": "answers", "kind": "vqa", "target": "answer", "head": { "depth": 1 } } ],
      "loss": { "l2_lambda": 0 },
      "trainer": { "seed": 1, "epochs": 5, "learning_rate": 0.001, "weight_decay": 0.05, "warmup_fraction": 0.05,
                   "monitor_metric": "answers/overall_accuracy", "early_stopping_patience": 4 },
      "data": { "batch_size": 64, "sources": [ { "kind": "rsvqa" } ], "eval_split": "val" }
    }
    """, Path.GetTempPath(),
    [$"threads={threads}", $"model:image_size={imageSize}", $"model:patch_size={imageSize / 8}", $"data:sources:0:path={options["data"]}",
     $"device={options.GetValueOrDefault("device", "cpu")}", $"trainer:epochs={options.GetValueOrDefault("epochs", "5")}",
     $"tasks:0:question_agnostic={imageOnly}", .. options.TryGetValue("out", out var output) ? [$"output_dir={output}"] : Array.Empty<string>()]);

var result = TrainingPipeline.Run(configuration);
Console.WriteLine($"trained {result.Training.EpochsCompleted} epochs in {result.ElapsedSeconds:F0} s ({(imageOnly ? "image-only baseline" : "VQA head")})");
var vqa = result.Report.AllVqaRows();
Console.WriteLine($"{"",-36} {"count",8} {"presence",8} {"comp",8} {"rural/urban",11} {"AA",8} {"OA",8}");
foreach (var row in vqa)
{
    string Type(string t) => row.Result.PerType.TryGetValue(t, out var a) ? (100 * a.Accuracy).ToString("F2", CultureInfo.InvariantCulture) : "-";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{row.System,-36} {Type("count"),8} {Type("presence"),8} {Type("comp"),8} {Type("rural_urban"),11} {100 * row.Result.AverageAccuracy,8:F2} {100 * row.Result.OverallAccuracy,8:F2}"));
}
Console.WriteLine($"report (Table II layout): {result.ReportMarkdown}");
return 0;
