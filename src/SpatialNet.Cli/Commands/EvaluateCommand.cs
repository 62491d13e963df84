using System.CommandLine;
using System.Text.Json.Nodes;
using SpatialNet.Cli.Hosting;
using SpatialNet.Cli.Output;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Inference;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet evaluate</c>: scores saved weights on a split.</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = "The run's training configuration (JSON); with --checkpoint.", HelpName = "FILE" };
        var set = CommonOptions.Set();
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Weights: a training checkpoint (checkpoints/best.safetensors) or model.safetensors; with --config.", HelpName = "FILE" };
        var run = new Option<string?>("--run", "-r") { Description = "A training run folder; with --input: scores a labelled folder with the run's classes, bands, input range and normalisation.", HelpName = "DIR" };
        var input = new Option<string?>("--input", "-i") { Description = "With --run: a labelled image folder (<class>/<image>); writes report_<folder name>.json/.md.", HelpName = "DIR" };
        var device = InferenceOptions.Device();
        var split = new Option<string?>("--split") { Description = "Split to evaluate (default: the configuration's evaluation split).", HelpName = "val|test" };
        var output = new Option<string?>("--output", "-o") { Description = "Folder for report_<split>.json/.md (default: the configuration's output_dir).", HelpName = "DIR" };
        var tables = new Option<bool>("--tables") { Description = "Also print the paper's Table I (captioning, beside the retrieval baseline) and Table II (RSVQA, beside the majority answer per question type), written as tables_<split>.md/.json." };
        var quiet = CommonOptions.Quiet();
        var json = CommonOptions.Json();
        var command = new Command("evaluate", "Evaluate saved weights on a split (--config, --checkpoint), or a run on a labelled folder (--run, --input); writes report_<split>.json/.md.")
        {
            config, set, checkpoint, run, input, device, split, output, tables, quiet, json,
        };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(output) is { } d ? Path.GetFullPath(d) : null;
            EvaluationReport report;
            string reportDir;
            using var logging = CliLogging.Create(parse.Error(), parse.GetValue(quiet));
            if (parse.GetValue(run) is { } runDir)
            {
                if (parse.GetValue(input) is not { } folder)
                    throw new UsageException("--run: give the labelled folder to score with --input (or use --config and --checkpoint for the run's own splits).");
                if (parse.GetValue(config) is not null || parse.GetValue(checkpoint) is not null || parse.GetValue(split) is not null)
                    throw new UsageException("--run/--input score a labelled folder with the run's own settings; leave out --config, --checkpoint and --split.");
                CliLogging.InitializeNativeRuntime(logging);
                report = RunEvaluation.EvaluateFolder(runDir, folder, dir, device: parse.GetRequiredValue(device), logger: logging.CreateLogger("spatialnet"));
                reportDir = dir ?? Path.GetFullPath(runDir);
            }
            else
            {
                if (parse.GetValue(config) is not { } configFile || parse.GetValue(checkpoint) is not { } weights)
                    throw new UsageException("evaluate needs --config and --checkpoint (a run's split), or --run and --input (a labelled folder).");
                if (parse.GetValue(input) is not null)
                    throw new UsageException("--input goes with --run (the run folder whose settings score it).");
                var configuration = SpatialNetConfiguration.Load(configFile, parse.GetValue(set));
                var c = TrainingRunOptions.Bind(configuration, configFile);
                CliLogging.InitializeNativeRuntime(logging);
                report = TrainingPipeline.Evaluate(configuration, weights, parse.GetValue(split), dir, logging.CreateLogger("spatialnet"));
                reportDir = dir ?? c.OutputDir;
            }
            var reportPath = Path.Combine(reportDir, "report_" + report.Result.Split + ".md");
            var o = parse.Output();
            if (parse.GetValue(json))
            {
                var result = new JsonObject
                {
                    ["split"] = report.Result.Split,
                    ["metrics"] = TrainCommand.Metrics(report.Result.Metrics),
                    ["report"] = Path.ChangeExtension(reportPath, ".json"),
                };
                if (parse.GetValue(tables))
                    result["tables"] = TablesOutput.Write(report, reportDir, TextWriter.Null);
                o.WriteLine(result.ToJsonString(CommonOptions.Indented));
                return 0;
            }
            o.WriteLine($"{report.Result.Split} split:");
            foreach (var line in report.SummaryLines())
                o.WriteLine("  " + line);
            o.WriteLine($"report: {reportPath}");
            if (parse.GetValue(tables))
                o.WriteLine($"tables: {TablesOutput.Write(report, reportDir, o)}");
            return 0;
        });
        return command;
    }
}
