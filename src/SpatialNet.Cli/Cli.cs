namespace SpatialNet.Cli;

/// <summary>Entry point of the <c>spatialnet</c> tool, callable in-process (tests use it).</summary>
public static class Cli
{
    /// <summary>The top-level help text.</summary>
    public static string Help => $"""
        spatialnet — multi-task remote-sensing models on TorchSharp

        usage: spatialnet <command> [arguments] [--options]

        {TrainCommands.Help}
        {MetricsCommands.Help}
        {WeightsCommands.Help}
        Exit codes: 0 success, 1 error in the input or the run, 2 bad command line.
        """;

    private static CommandLine Single(CommandLine cl) =>
        cl.Words.Count == 1 ? cl : throw new UsageException($"'{cl.Words[0]}' takes options only, not '{cl.Words[1]}'; run 'spatialnet --help'");

    /// <summary>Runs the tool; returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        try
        {
            var cl = new CommandLine(args, switches: ["help", "quiet", "no-progress", "no-meteor", "no-count-bins", "tables"]);
            if (cl.Words.Count == 0 || cl.Has("help") || cl.Words[0] == "help")
            {
                output.WriteLine(Help);
                return cl.Words.Count == 0 && !cl.Has("help") ? 2 : 0;
            }
            // Commands that run models load TorchSharp's natives first, so that a missing or incompatible
            // runtime is a clear error (exit 1) instead of a type-initialisation crash deep in a command.
            if (cl.Words[0] is "train" or "evaluate" or "weights")
                SpatialNet.Runtime.TorchNativeRuntime.EnsureInitialized();
            return cl.Words[0] switch
            {
                "train" => TrainCommands.Train(Single(cl), output),
                "evaluate" => TrainCommands.Evaluate(Single(cl), output),
                "synthetic" => TrainCommands.Synthetic(Single(cl), output),
                "weights" => WeightsCommands.Run(cl, output),
                "metrics" => MetricsCommands.Run(cl, output),
                _ => throw new UsageException($"unknown command '{cl.Words[0]}'; run 'spatialnet --help'"),
            };
        }
        catch (UsageException ex)
        {
            error.WriteLine($"spatialnet: {ex.Message}");
            return 2;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or SpatialNet.DependencyInjection.ConfigurationException
            or SpatialNet.Training.Data.DatasetException or SpatialNet.Weights.WeightLoadException or UnauthorizedAccessException or FormatException or ArgumentException or InvalidOperationException
            or SpatialNet.Runtime.NativeRuntimeException)
        {
            error.WriteLine($"spatialnet: {ex.GetType().Name}: {ex.Message}");
            return 1;
        }
    }
}
