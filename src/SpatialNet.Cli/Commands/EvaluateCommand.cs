using System.CommandLine;
using System.Text.Json.Nodes;
using SpatialNet.Cli.Output;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Pipeline;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet evaluate</c>: scores saved weights on a split.</summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c") { Description = "The run's training configuration (JSON).", Required = true, HelpName = "FILE" };
        var set = CommonOptions.Set();
        var checkpoint = new Option<string>("--checkpoint") { Description = "Weights: a training checkpoint (checkpoints/best.safetensors) or model.safetensors.", Required = true, HelpName = "FILE" };
        var split = new Option<string?>("--split") { Description = "Split to evaluate (default: the configuration's evaluation split).", HelpName = "val|test" };
        var output = new Option<string?>("--output", "-o") { Description = "Folder for report_<split>.json/.md (default: the configuration's output_dir).", HelpName = "DIR" };
        var tables = new Option<bool>("--tables") { Description = "Also print the paper's Table I (captioning, beside the retrieval baseline) and Table II (RSVQA, beside the majority answer per question type), written as tables_<split>.md/.json." };
        var quiet = CommonOptions.Quiet();
        var json = CommonOptions.Json();
        var command = new Command("evaluate", "Evaluate saved weights on a split; writes report_<split>.json/.md.")
        {
            config, set, checkpoint, split, output, tables, quiet, json,
        };
        command.SetAction(parse =>
        {
            var configuration = SpatialNetConfiguration.Load(parse.GetRequiredValue(config), parse.GetValue(set));
            var c = TrainingRunOptions.Bind(configuration, parse.GetRequiredValue(config));
            var dir = parse.GetValue(output) is { } d ? Path.GetFullPath(d) : null;
            using var logging = CliLogging.Create(parse.Error(), parse.GetValue(quiet));
            CliLogging.InitializeNativeRuntime(logging);
            var report = TrainingPipeline.Evaluate(configuration, parse.GetRequiredValue(checkpoint), parse.GetValue(split), dir, logging.CreateLogger("spatialnet"));
            var reportPath = Path.Combine(dir ?? c.OutputDir, "report_" + report.Result.Split + ".md");
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
                    result["tables"] = TablesOutput.Write(report, dir ?? c.OutputDir, TextWriter.Null);
                o.WriteLine(result.ToJsonString(CommonOptions.Indented));
                return 0;
            }
            o.WriteLine($"{report.Result.Split} split:");
            foreach (var line in report.SummaryLines())
                o.WriteLine("  " + line);
            o.WriteLine($"report: {reportPath}");
            if (parse.GetValue(tables))
                o.WriteLine($"tables: {TablesOutput.Write(report, dir ?? c.OutputDir, o)}");
            return 0;
        });
        return command;
    }
}
