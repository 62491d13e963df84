using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Synthetic;
using SpatialNet.Training.Workflow;

namespace SpatialNet.Cli;

/// <summary><c>spatialnet train</c>, <c>evaluate</c> and <c>synthetic</c>.</summary>
internal static class TrainCommands
{
    public const string Help = """
        spatialnet train --config cfg.json [--set key=value ...] [--output DIR] [--epochs N] [--device cpu|cuda|auto]
                [--resume last.safetensors] [--max-steps N] [--no-progress] [--quiet]
            Trains the multi-task model the configuration describes (docs/training.md lists every key) and
            writes checkpoints, history, curves, model.safetensors and report.json/report.md into the output folder.
            --set overrides any key by its configuration path (--set model:depth=2 --set data:sources:0:path=/data/x);
            SPATIALNET__trainer__epochs=2 style environment variables do the same. --output, --epochs and --device are
            short for --set output_dir=, trainer:epochs= and device=.
            --max-steps stops early (saving checkpoints/last.safetensors); --resume continues a run with the same config.
        spatialnet evaluate --config cfg.json [--set key=value ...] --checkpoint best.safetensors [--split val|test] [--output DIR] [--tables] [--quiet]
            Evaluates saved weights (a training checkpoint or model.safetensors) on a split; writes report_<split>.json/.md.
            --tables also prints the paper's Table I (captioning, beside the retrieval baseline) and Table II (RSVQA,
            beside the majority answer per question type) and writes them as tables_<split>.md/.json.
        spatialnet synthetic --format ucm-caption|rsvqa --out DIR [--count N] [--size 64] [--seed 1]
            Writes N synthetic scenes (default 100) in the UCM-caption format (dataset.json + imgs/; N rounded up to a
            multiple of the 5 land-cover classes, 80/10/10 % train/val/test per class) or the RSVQA-LR format
            (LR_split_*_{images,questions,answers}.json + Images_LR/; 80/10/10 % of the images), with synthetic_truth.json.
            Val and test get at least one image (per class) from 3 images (per class) on.
        """;

    public static int Train(CommandLine cl, TextWriter output)
    {
        var sets = new List<string>();
        if (cl.Optional("output") is { } dir) sets.Add("output_dir=" + Path.GetFullPath(dir));
        if (cl.Has("epochs")) sets.Add("trainer:epochs=" + cl.Int("epochs", 1).ToString(CultureInfo.InvariantCulture));
        if (cl.Optional("device") is { } device) sets.Add("device=" + device);
        if (cl.Has("no-progress")) sets.Add("trainer:show_progress=false");
        var configuration = LoadConfig(cl, sets);
        var resume = cl.Optional("resume");
        long? maxSteps = cl.Has("max-steps") ? cl.Int("max-steps", 0) : null;
        if (maxSteps is < 1) throw new UsageException($"option --max-steps: {maxSteps} is not a positive number of steps");
        bool quiet = cl.Has("quiet");
        cl.RejectUnknown();
        _ = TrainingRunOptions.Bind(configuration, cl.Required("config"));

        using var logging = CreateLogging(quiet);
        var result = TrainingPipeline.Run(configuration, logging.CreateLogger("spatialnet"), CancellationToken.None,
            new TrainingPipelineOptions { ResumeFrom = resume, MaxSteps = maxSteps });
        output.WriteLine($"trained {result.Training.EpochsCompleted} epochs ({result.Training.StopReason}) in {result.ElapsedSeconds:F1} s; {result.Report.Result.Split} split:");
        foreach (var line in result.Report.SummaryLines())
            output.WriteLine("  " + line);
        output.WriteLine($"output: {result.OutputDirectory}");
        output.WriteLine($"report: {result.ReportMarkdown}");
        return 0;
    }

    public static int Evaluate(CommandLine cl, TextWriter output)
    {
        var configuration = LoadConfig(cl, []);
        var config = TrainingRunOptions.Bind(configuration, cl.Required("config"));
        var checkpoint = cl.Required("checkpoint");
        var split = cl.Optional("split");
        var dir = cl.Optional("output");
        bool quiet = cl.Has("quiet");
        bool tables = cl.Has("tables");
        cl.RejectUnknown();
        using var logging = CreateLogging(quiet);
        var report = TrainingPipeline.Evaluate(configuration, checkpoint, split, dir is null ? null : Path.GetFullPath(dir), logging.CreateLogger("spatialnet"));
        output.WriteLine($"{report.Result.Split} split:");
        foreach (var line in report.SummaryLines())
            output.WriteLine("  " + line);
        output.WriteLine($"report: {Path.Combine(dir ?? config.OutputDir, "report_" + report.Result.Split + ".md")}");
        if (tables)
            output.WriteLine($"tables: {TablesOutput.Write(report, dir is null ? config.OutputDir : Path.GetFullPath(dir), output)}");
        return 0;
    }

    public static int Synthetic(CommandLine cl, TextWriter output)
    {
        var format = cl.Required("format");
        var dir = Path.GetFullPath(cl.Required("out"));
        int count = cl.Int("count", 100);
        int size = cl.Int("size", 64);
        var seedText = cl.Optional("seed") ?? "1";
        cl.RejectUnknown();
        if (!ulong.TryParse(seedText, NumberStyles.None, CultureInfo.InvariantCulture, out var seed))
            throw new UsageException($"option --seed: '{seedText}' is not a non-negative integer");
        if (count < 1) throw new UsageException($"option --count: {count} is not a positive number of scenes");
        if (size < 32) throw new UsageException($"option --size: {size} is below the smallest scene size, 32");

        var generator = new SyntheticSceneGenerator(new SyntheticSceneOptions { ImageSize = size, Seed = seed });
        SyntheticWriteResult written;
        switch (format)
        {
            case "ucm-caption":
            {
                int classes = SyntheticSceneGenerator.LandCoverClasses.Count;
                written = SyntheticDatasetWriter.WriteUcmCaption(dir, generator, (count + classes - 1) / classes);
                break;
            }
            case "rsvqa":
            {
                int val = SyntheticDatasetWriter.SplitCount(count, 0.1);
                int test = SyntheticDatasetWriter.SplitCount(count, 0.1);
                written = SyntheticDatasetWriter.WriteRsvqa(dir, generator, Math.Max(1, count - val - test), val, count - val - test < 1 ? 0 : test);
                break;
            }
            default:
                throw new UsageException($"--format: '{format}' is not one of ucm-caption, rsvqa");
        }
        var perSplit = written.Splits.GroupBy(s => s).Select(g => $"{g.Key} {g.Count()}");
        output.WriteLine($"wrote {written.Scenes.Count} {size}×{size} scenes ({string.Join(", ", perSplit)}) in the {format} format to {dir}");
        if (format == "rsvqa")
            output.WriteLine($"questions: {written.Scenes.Sum(s => s.Questions.Count)} ({string.Join(", ", RsvqaQuestionTypeNames.LowResolutionTypes.Select(t => t.ToWireName()))})");
        return 0;
    }

    // The file, SPATIALNET__ environment variables, the shorthand options, then --set (later wins).
    private static IConfigurationRoot LoadConfig(CommandLine cl, IEnumerable<string> shorthands) =>
        SpatialNetConfiguration.Load(cl.Required("config"), shorthands.Concat(cl.Sets));

    private static ILoggerFactory CreateLogging(bool quiet) => LoggerFactory.Create(b => b
        .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
        .SetMinimumLevel(quiet ? LogLevel.Warning : LogLevel.Information));
}
