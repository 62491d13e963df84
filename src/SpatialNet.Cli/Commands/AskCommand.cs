using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet ask</c>: answers a question about an image with a run's vqa task.</summary>
internal static class AskCommand
{
    public static Command Create()
    {
        var run = InferenceOptions.Run();
        var image = InferenceOptions.Image();
        var question = new Option<string>("--question", "-q") { Description = "The question, e.g. \"Is there a road?\".", Required = true, HelpName = "TEXT" };
        var task = InferenceOptions.Task("vqa");
        var device = InferenceOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("ask", "Answer a question about an image with a trained model's vqa task.") { run, image, question, task, device, json };
        command.SetAction(parse =>
        {
            using var predictor = InferenceOptions.Open(parse, run, device);
            var answer = predictor.Answer(predictor.LoadImage(parse.GetRequiredValue(image)), parse.GetRequiredValue(question), parse.GetValue(task));
            var o = parse.Output();
            if (parse.GetValue(json))
            {
                var result = new JsonObject { ["answer"] = answer.Answer, ["probability"] = answer.Probability };
                if (answer.Count is float count)
                    result["count"] = count;
                o.WriteLine(result.ToJsonString(CommonOptions.Indented));
            }
            else
            {
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{answer.Answer} (p = {answer.Probability:F3})"));
            }
            return 0;
        });
        return command;
    }
}
