using System.CommandLine;
using SpatialNet.Training.Inference;

namespace SpatialNet.Cli.Commands;

/// <summary>Options of the commands that use a trained run (<c>predict</c>, <c>ask</c>, <c>caption</c>, <c>export onnx</c>).</summary>
internal static class InferenceOptions
{
    public static Option<string> Run() => new("--run", "-r") { Description = "The training run folder (output_dir of `spatialnet train`).", Required = true, HelpName = "DIR" };

    /// <summary><c>--image</c>: the one image an <c>ask</c> or <c>caption</c> reads.</summary>
    public static Option<string> Image() => new("--image", "-i") { Description = "The image (TIFF, PNG, JPEG).", Required = true, HelpName = "FILE" };

    public static Option<string> Device() => new("--device") { Description = "cpu, cuda, cuda:N or auto.", DefaultValueFactory = _ => "cpu", HelpName = "cpu|cuda|auto" };

    public static Option<string?> Task(string kind) => new("--task", "-t") { Description = $"The {kind} task to use (default: the only one).", HelpName = "NAME" };

    /// <summary>Opens the run's predictor on the device.</summary>
    public static Predictor Open(ParseResult parse, Option<string> run, Option<string> device, int batchSize = 32)
    {
        SpatialNet.Runtime.TorchNativeRuntime.EnsureInitialized();
        return Predictor.Open(parse.GetRequiredValue(run), new PredictorOptions { Device = parse.GetRequiredValue(device), MaxBatchSize = batchSize });
    }
}
