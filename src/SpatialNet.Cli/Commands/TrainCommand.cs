using System.CommandLine;
using System.Globalization;
using SpatialNet.Cli.Hosting;
using SpatialNet.Cli.Output;
using SpatialNet.Training.Checkpoints;
using System.Text.Json.Nodes;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Pipeline;

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
        epochs.AtLeast(1, _ => "--epochs must be a positive number of epochs");
        var device = new Option<string?>("--device") { Description = "cpu, cuda, cuda:N or auto (overrides the configuration).", HelpName = "DEVICE" };
        var resume = new Option<string?>("--resume") { Description = "Continue a run from its checkpoint (checkpoints/last.safetensors or interrupted.safetensors) with the same configuration.", HelpName = "CHECKPOINT" };
        var maxSteps = new Option<long?>("--max-steps") { Description = "Stop after N optimizer steps in all (saving checkpoints/last.safetensors, to resume later).", HelpName = "N" };
        maxSteps.AtLeast(1, _ => "--max-steps must be a positive number of steps");
        var noProgress = new Option<bool>("--no-progress") { Description = "No progress display." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Remove what a previous run wrote in the output folder (the entries its spatialnet-run.json names; a folder without one is refused, a non-empty folder is refused without this option unless resuming)." };
        var quiet = CommonOptions.Quiet();
        var json = CommonOptions.Json();
        var command = new Command("train", "Train the multi-task model a configuration describes; writes checkpoints, history, curves, model.safetensors and report.json/report.md into the output folder.")
        {
            config, set, output, epochs, device, resume, maxSteps, noProgress, overwrite, quiet, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            // The file, SPATIALNET__ environment variables, the shorthand options, then --set (later wins).
            var configPath = Path.GetFullPath(parse.GetRequiredValue(config));
            var shorthands = new List<string>();
            if (parse.GetValue(output) is { } dir) shorthands.Add("output_dir=" + Path.GetFullPath(dir));
            if (parse.GetValue(epochs) is { } n) shorthands.Add(FormattableString.Invariant($"trainer:epochs={n}"));
            if (parse.GetValue(device) is { } d) shorthands.Add("device=" + d);
            if (parse.GetValue(noProgress)) shorthands.Add("trainer:show_progress=false");
            var configuration = SpatialNetConfiguration.Load(configPath, shorthands.Concat(parse.GetValue(set) ?? []));
            var c = TrainingRunOptions.Bind(configuration, configPath);

            // Progress and logs on standard error; standard output carries the result only.
            var display = new TrainingDisplay(parse.Error(), c.Trainer.ShowProgress);
            using var logging = CliLogging.Create(display.WriteLog, parse.GetValue(quiet), display.Enabled ? ["EpochEnd", "BestCheckpoint"] : []);
            CliLogging.InitializeNativeRuntime(logging);
            using var stopsCleanly = Interrupt.StopsCleanly();
            TrainingRunResult result;
            try
            {
                result = display.Run(() => TrainingPipeline.Run(configuration, logging.CreateLogger("spatialnet"), cancellationToken,
                    new TrainingPipelineOptions { ResumeFrom = parse.GetValue(resume), MaxSteps = parse.GetValue(maxSteps), Overwrite = parse.GetValue(overwrite), Progress = display }));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return Task.FromResult(Interrupted(parse, c, configPath));
            }
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

        // Ctrl+C: the trainer stopped at a step boundary and saved its checkpoint; say how to continue.
        int Interrupted(ParseResult parse, TrainingRunOptions c, string configPath)
        {
            var error = parse.Error();
            var checkpoint = Path.Combine(c.OutputDir, "checkpoints", Trainer.LastCheckpointName);
            if (!File.Exists(checkpoint))
            {
                error.WriteLine("spatialnet: interrupted before the first checkpoint; nothing to resume");
                return ExitCodes.Interrupted;
            }
            var position = TrainingCheckpoint.ReadInfo(checkpoint).Position;
            var resumeArgs = new List<string> { "spatialnet", "train", "--config", configPath, "--resume", checkpoint };
            if (parse.GetValue(output) is not null) resumeArgs.AddRange(["--output", c.OutputDir]);
            if (parse.GetValue(epochs) is { } n) resumeArgs.AddRange(["--epochs", n.ToString(CultureInfo.InvariantCulture)]);
            if (parse.GetValue(device) is { } d) resumeArgs.AddRange(["--device", d]);
            if (parse.GetValue(maxSteps) is { } m) resumeArgs.AddRange(["--max-steps", m.ToString(CultureInfo.InvariantCulture)]);
            if (parse.GetValue(noProgress)) resumeArgs.Add("--no-progress");
            if (parse.GetValue(quiet)) resumeArgs.Add("--quiet");
            if (parse.GetValue(json)) resumeArgs.Add("--json");
            error.WriteLine(FormattableString.Invariant(
                $"spatialnet: interrupted at step {position.GlobalStep} (epoch {position.Epoch + 1}, batch {position.BatchInEpoch}); checkpoint {checkpoint}"));
            error.WriteLine("resume with:");
            error.WriteLine("  " + string.Join(' ', resumeArgs.Select(ShellQuote)));
            return ExitCodes.Interrupted;
        }
    }

    /// <summary>A word as a POSIX shell reads it back: single-quoted when it holds anything but safe characters.</summary>
    internal static string ShellQuote(string word) =>
        word.Length > 0 && word.All(ch => char.IsAsciiLetterOrDigit(ch) || "-_./:=@%+,".Contains(ch, StringComparison.Ordinal))
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>A name → value JSON object of metrics.</summary>
    internal static JsonObject Metrics(IEnumerable<KeyValuePair<string, double>> metrics)
    {
        var o = new JsonObject();
        foreach (var (k, v) in metrics)
            o[k] = double.IsFinite(v) ? v : null;
        return o;
    }
}
