// SpatialNet quickstart: one multi-task Vision Transformer trained on CPU, on remote-sensing-like
// scenes SpatialNet generates itself, so it runs anywhere with no download.
//
// The scenes are generated in memory (SyntheticSceneDataset): each has a land-cover class, objects
// of four kinds with exact counts, and their presence. The same scenes can be written in the real
// UCM-caption and RSVQA formats with `spatialnet synthetic`; those formats carry no object counts,
// which is why this sample keeps the scenes in memory.
//
// Usage: dotnet run --project samples/SpatialNet.Samples.Quickstart -c Release [-- --out DIR] [--threads N]
using System.Diagnostics;
using System.Globalization;
using SpatialNet.Runtime;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Pipeline;
using TorchSharp;

var clock = Stopwatch.StartNew();
var output = Path.Combine(Path.GetTempPath(), "spatialnet-quickstart");
// torch threads: one per physical core, which on SMT machines is half the logical processors. The
// model is tiny (16 tokens of width 64), so extra threads add synchronisation rather than speed; on a
// busy 2-vCPU machine two threads ran the same two epochs 7× slower than one (46 s against 6 s).
int threads = Math.Max(1, Environment.ProcessorCount / 2);
var options = Args.Parse(args, "Trains three tasks on generated scenes on the CPU: [--out DIR] [--threads N].", ["out", "threads"], out int exitCode);
if (options is null)
    return exitCode;
if (options.TryGetValue("out", out var dir))
    output = Path.GetFullPath(dir);
if (options.TryGetValue("threads", out var t))
{
    if (!int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out threads) || threads < 1)
    {
        Console.Error.WriteLine($"SpatialNet.Samples.Quickstart: --threads {t} is not a positive number of threads");
        return 2;
    }
}

TorchNativeRuntime.EnsureInitialized();
torch.set_num_threads(threads);
Console.WriteLine($"SpatialNet quickstart: {threads} torch thread(s) on {Environment.ProcessorCount} logical CPUs, output folder {output}");

// The run is quickstart.json (copied beside the program) with two overrides, as `--set` gives them
// to `spatialnet train`: configuration → options → the same DI registrations a host uses.
var configuration = SpatialNetConfiguration.Load(Path.Combine(AppContext.BaseDirectory, "quickstart.json"),
    [$"output_dir={output}", $"threads={threads}"]);
// Overwrite: the output folder is this sample's own, replaced on every run.
var result = new TrainingPipeline(configuration, callbacks: [new EpochLines()]).Run(new TrainingPipelineOptions { Overwrite = true });

Console.WriteLine();
Console.WriteLine($"Validation ({result.Report.Result.Tasks[0].Samples} scenes), weights of {Path.GetFileName(result.Training.BestCheckpoint ?? "last")}:");
bool allAbove = true;
foreach (var task in result.Report.Result.Tasks)
{
    var metric = task.PrimaryMetric;
    double value = task.Metrics[metric];
    double baseline = task.Baseline![metric];
    bool lowerIsBetter = MetricModes.Of(metric) == MetricMode.Min;
    bool above = lowerIsBetter ? value < 0.8 * baseline : value > baseline + 0.05;
    allAbove &= above;
    var chance = task.Chance is double c && metric == "accuracy" ? $"chance {c:F3}, " : "";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {task.Task.Name,-15} {metric,-9} {value,7:F3}   ({chance}baseline {baseline:F3}: {SpatialNet.Training.Evaluation.EvaluationReport.BaselineDescription(task.Task.Kind)})  {(above ? "above chance" : "NOT above chance")}"));
}
Console.WriteLine();
Console.WriteLine($"checkpoint: {result.Training.BestCheckpoint}");
Console.WriteLine($"model:      {result.ModelWeights}");
Console.WriteLine($"report:     {result.ReportMarkdown} and {Path.GetFileName(result.ReportJson)}");
Console.WriteLine($"total time: {clock.Elapsed.TotalSeconds:F1} s (training and evaluation {result.ElapsedSeconds:F1} s)");
return allAbove ? 0 : 1;

/// <summary>One line per epoch, also when the output is redirected: a trainer callback.</summary>
internal sealed class EpochLines : ITrainerCallback
{
    public void OnEpochEnd(Trainer trainer, EpochRecord record, bool improved)
    {
        int epochs = trainer.Options.Epochs;
        string Get(string key, string format) => record.Metrics.TryGetValue(key, out var v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {record.Epoch,2}/{epochs}  {record.ElapsedSeconds,5:F1} s  train loss {record.Train.GetValueOrDefault("loss"):F3}  " +
            $"val: land_cover acc {Get("land_cover/accuracy", "F3")}, building_count mae {Get("building_count/mae", "F2")}, presence acc {Get("presence/accuracy", "F3")}"));
    }
}
