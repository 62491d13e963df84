using System.CommandLine;
using SpatialNet.Training.Inference;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet export onnx</c>: writes a run's model as an ONNX graph.</summary>
internal static class ExportCommand
{
    public static Command Create() => new("export", "Export a trained model for other runtimes.") { Onnx() };

    private static Command Onnx()
    {
        var run = InferenceOptions.Run();
        var output = new Option<string>("--output", "-o") { Description = "The .onnx file to write.", Required = true, HelpName = "FILE" };
        var tasks = new Option<string[]>("--task", "-t") { Description = "Tasks to export (repeatable; default: every classification, regression, multi-label, segmentation and pixel_regression task).", HelpName = "NAME" };
        var command = new Command("onnx", "Write the encoder and the classification, regression, multi-label, segmentation and pixel_regression heads as an ONNX graph (opset 17, dynamic batch, "
            + "input 'image' [batch, C, H, W] on the 0-255 scale with the training normalisation inside, one output per task).") { run, output, tasks };
        command.SetAction(parse =>
        {
            SpatialNet.Runtime.TorchNativeRuntime.EnsureInitialized();
            var path = Path.GetFullPath(parse.GetRequiredValue(output));
            var selected = parse.GetValue(tasks) is { Length: > 0 } t ? t : null;
            OnnxExporter.Export(parse.GetRequiredValue(run), path, selected);
            parse.Output().WriteLine(path);
            return 0;
        });
        return command;
    }
}
