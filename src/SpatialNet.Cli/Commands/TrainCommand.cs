using System.CommandLine;
using System.Text.Json.Nodes;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Workflow;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet train</c>: trains the multi-task model a configuration file describes.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c") { Description = "Training configuration (JSON; docs/training.md lists every key).", Required = true, HelpName = "FILE" };
        var set = CommonOptions.Set();
        var output = new Option<string?>("--output", "-o") { Description = "Output folder (overrides the configuration's output_dir).", HelpName = "DIR" };
        var epochs = new Option<int?>("--epochs") { Description = "Number of epochs (overrides the configuration).", HelpName = "N" };
        epochs.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError("--epochs must be a positive number of epochs"); });
        var device = new Option<string?>("--device") { Description = "cpu, cuda, cuda:N or auto (overrides the configuration).", HelpName = "DEVICE" };
        var resume = new Option<string?>("--resume") { Description = "Continue a run from its checkpoint (checkpoints/last.safetensors or interrupted.safetensors) with the same configuration.", HelpName = "CHECKPOINT" };
        var maxSteps = new Option<long?>("--max-steps") { Description = "Stop after N optimizer steps in all (saving checkpoints/last.safetensors, to resume later).", HelpName = "N" };
        maxSteps.Validators.Add(r => { if (r.GetValueOrDefault<long?>() is < 1) r.AddError("--max-steps must be a positive number of steps"); });
        var noProgress = new Option<bool>("--no-progress") { Description = "No progress display." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace a previous run in the output folder (a non-empty folder is refused otherwise, unless resuming)." };
        var quiet = CommonOptions.Quiet();
        var json = CommonOptions.Json();
        var command = new Command("train", "Train the multi-task model a configuration describes; writes checkpoints, history, curves, model.safetensors and report.json/report.md into the output folder.")
        {
            config, set, output, epochs, device, resume, maxSteps, noProgress, overwrite, quiet, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            // The file, SPATIALNET__ environment variables, the shorthand options, then --set (later wins).
            var shorthands = new List<string>();
            if (parse.GetValue(output) is { } dir) shorthands.Add("output_dir=" + Path.GetFullPath(dir));
            if (parse.GetValue(epochs) is { } n) shorthands.Add(FormattableString.Invariant($"trainer:epochs={n}"));
            if (parse.GetValue(device) is { } d) shorthands.Add("device=" + d);
            if (parse.GetValue(noProgress)) shorthands.Add("trainer:show_progress=false");
            var configuration = SpatialNetConfiguration.Load(parse.GetRequiredValue(config), shorthands.Concat(parse.GetValue(set) ?? []));
            var c = TrainingRunOptions.Bind(configuration, parse.GetRequiredValue(config));

            SpatialNet.Runtime.TorchNativeRuntime.EnsureInitialized();
            using var logging = CommonOptions.CreateLogging(parse.Error(), parse.GetValue(quiet));
            var result = TrainingPipeline.Run(configuration, logging.CreateLogger("spatialnet"), cancellationToken,
                new TrainingPipelineOptions
                {
                    ResumeFrom = parse.GetValue(resume),
                    MaxSteps = parse.GetValue(maxSteps),
                    Overwrite = parse.GetValue(overwrite),
                    // Progress on standard error, beside the logs; standard output carries the result only.
                    Progress = c.Trainer.ShowProgress ? new ConsoleProgressDisplay(parse.Error(), enabled: !Console.IsErrorRedirected) : null,
                });
            var o = parse.Output();
            if (parse.GetValue(json))
            {
                o.WriteLine(new JsonObject
                {
                    ["epochs_completed"] = result.Training.EpochsCompleted,
                    ["stop_reason"] = result.Training.StopReason.ToString(),
                    ["elapsed_seconds"] = result.ElapsedSeconds,
                    ["split"] = result.Report.Result.Split,
                    ["metrics"] = Metrics(result.Report.Result.Metrics),
                    ["output"] = result.OutputDirectory,
                    ["report"] = result.ReportJson,
                    ["model"] = result.ModelWeights,
                }.ToJsonString(CommonOptions.Indented));
                return Task.FromResult(0);
            }
            o.WriteLine($"trained {result.Training.EpochsCompleted} epochs ({result.Training.StopReason}) in {result.ElapsedSeconds:F1} s; {result.Report.Result.Split} split:");
            foreach (var line in result.Report.SummaryLines())
                o.WriteLine("  " + line);
            o.WriteLine($"output: {result.OutputDirectory}");
            o.WriteLine($"report: {result.ReportMarkdown}");
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>A name → value JSON object of metrics.</summary>
    internal static JsonObject Metrics(IEnumerable<KeyValuePair<string, double>> metrics)
    {
        var o = new JsonObject();
        foreach (var (k, v) in metrics)
            o[k] = double.IsFinite(v) ? v : null;
        return o;
    }
}
