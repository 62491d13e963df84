using System.CommandLine;
using System.Text.Json.Nodes;
using SpatialNet.Cli.Hosting;
using SpatialNet.Cli.Output;
using SpatialNet.Training.Comparison;
using SpatialNet.Training.Engine;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet compare</c>: one configuration trained per loss composer and seed, and each task alone, in one table.</summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c") { Description = "Training configuration (JSON), as for train.", Required = true, HelpName = "FILE" };
        var composers = new Option<string>("--composers") { Description = "Loss composers to compare, comma-separated (e.g. weighted_sum,uncertainty,pcgrad).", Required = true, HelpName = "A,B,C" };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per composer (trainer:seed = 1..N).", DefaultValueFactory = _ => 3, HelpName = "N" };
        seeds.AtLeast(1, _ => "--seeds must be a positive number of seeds");
        var noSingle = new Option<bool>("--no-single-task") { Description = "Do not train each task alone (no Δm% then)." };
        var set = CommonOptions.Set();
        var output = new Option<string>("--output", "-o") { Description = "Folder for runs/, compare.md, compare.json and compare.png; re-running continues an interrupted comparison.", Required = true, HelpName = "DIR" };
        var noProgress = new Option<bool>("--no-progress") { Description = "No progress display." };
        var quiet = CommonOptions.Quiet();
        var json = CommonOptions.Json();
        var command = new Command("compare", "Train one configuration with several loss composers and seeds (and each task alone); writes compare.md/.json/.png with each task's metric, Δm%, step time and memory.")
        {
            config, composers, seeds, noSingle, set, output, noProgress, quiet, json,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var options = new ComparisonOptions
            {
                ConfigurationFile = Path.GetFullPath(parse.GetRequiredValue(config)),
                Overrides = [.. parse.GetValue(set) ?? [], .. parse.GetValue(noProgress) ? ["trainer:show_progress=false"] : Array.Empty<string>()],
                Composers = parse.GetRequiredValue(composers).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                Seeds = parse.GetValue(seeds),
                SingleTask = !parse.GetValue(noSingle),
                OutputDirectory = Path.GetFullPath(parse.GetRequiredValue(output)),
            };
            var display = new TrainingDisplay(parse.Error(), !parse.GetValue(noProgress));
            using var logging = CliLogging.Create(display.WriteLog, parse.GetValue(quiet), display.Enabled ? ["EpochEnd", "BestCheckpoint", "DataReady", "ModelReady", "Finished"] : []);
            CliLogging.InitializeNativeRuntime(logging);
            using var stopsCleanly = Interrupt.StopsCleanly();
            ComparisonSummary summary;
            try
            {
                summary = display.Run(() => ComposerComparison.Run(options, logging.CreateLogger("spatialnet"), new Progress(display), cancellationToken));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                parse.Error().WriteLine($"spatialnet: comparison interrupted; the finished runs are kept in {Path.Combine(options.OutputDirectory, "runs")} and the same command continues it");
                return Task.FromResult(ExitCodes.Interrupted);
            }

            var o = parse.Output();
            if (parse.GetValue(json))
            {
                var result = summary.ToJson();
                result["output"] = options.OutputDirectory;
                o.WriteLine(result.ToJsonString(CommonOptions.Indented));
                return Task.FromResult(0);
            }

            o.Write(summary.ToMarkdown());
            o.WriteLine($"output: {Path.Combine(options.OutputDirectory, "compare.md")}");
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>One line per run above the training display.</summary>
    private sealed class Progress(TrainingDisplay display) : IComparisonProgress
    {
        public ITrainingProgress? Training => display;

        public void RunStarting(ComparisonRunKey run, int index, int count, bool reused) =>
            display.WriteLog($"[{index}/{count}] {run}{(reused ? ": finished earlier, kept" : "")}");
    }
}
