using System.CommandLine;
using System.Text.Json.Nodes;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet caption</c>: describes an image with a run's caption task.</summary>
internal static class CaptionCommand
{
    public static Command Create()
    {
        var run = InferenceOptions.Run();
        var image = InferenceOptions.Image();
        var beam = new Option<int?>("--beam") { Description = "Beam width: 1 decodes greedily (default: the task's configured decoding).", HelpName = "N" };
        var task = InferenceOptions.Task("caption");
        var device = InferenceOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("caption", "Caption an image with a trained model's caption task.") { run, image, beam, task, device, json };
        command.SetAction(parse =>
        {
            using var predictor = InferenceOptions.Open(parse, run, device);
            var caption = predictor.Caption(predictor.LoadImage(parse.GetRequiredValue(image)), parse.GetValue(beam), parse.GetValue(task));
            parse.Output().WriteLine(parse.GetValue(json) ? new JsonObject { ["caption"] = caption }.ToJsonString(CommonOptions.Indented) : caption);
            return 0;
        });
        return command;
    }
}
