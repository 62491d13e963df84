using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SpatialNet.Weights;

namespace SpatialNet.Cli.Commands;

/// <summary><c>spatialnet weights inspect|convert</c>.</summary>
internal static class WeightsCommand
{
    public static Command Create() => new("weights", "Inspect or convert weight files (safetensors, PyTorch).") { Inspect(), Convert() };

    private static Option<WeightFileFormat> FormatOption() => new("--format")
    {
        Description = "File format (auto: from the content).",
        DefaultValueFactory = _ => WeightFileFormat.Auto,
        CustomParser = r => r.Tokens[0].Value.ToLowerInvariant() switch
        {
            "auto" => WeightFileFormat.Auto,
            "safetensors" => WeightFileFormat.Safetensors,
            "pytorch" or "pth" => WeightFileFormat.PyTorch,
            var v => Error(r, $"--format: '{v}' is not one of auto, safetensors, pytorch"),
        },
        HelpName = "auto|safetensors|pytorch",
    };

    private static WeightFileFormat Error(System.CommandLine.Parsing.ArgumentResult r, string message)
    {
        r.AddError(message);
        return WeightFileFormat.Auto;
    }

    private static Command Inspect()
    {
        var file = new Argument<string>("file") { Description = "A safetensors or PyTorch weight file, or a training checkpoint." };
        var format = FormatOption();
        var json = CommonOptions.Json();
        var command = new Command("inspect", "List every tensor (name, dtype, shape), the parameter count and the naming scheme (timm or Hugging Face ViT).") { file, format, json };
        command.SetAction(parse =>
        {
            SpatialNet.Runtime.TorchNativeRuntime.EnsureInitialized();
            InspectFile(parse.GetRequiredValue(file), parse.GetValue(format), parse.GetValue(json), parse.Output());
            return 0;
        });
        return command;
    }

    private static Command Convert()
    {
        var input = new Argument<string>("input") { Description = "The weights to convert." };
        var output = new Argument<string>("output") { Description = "Where to write; the format follows the extension (.safetensors, .pth/.pt/.bin)." };
        var format = FormatOption();
        var command = new Command("convert",
            "Rewrite a checkpoint with timm names (Hugging Face ViT keys are mapped, q/k/v fused). A training checkpoint becomes the model's "
            + "weights alone, at full precision (the float32 masters of a bf16 mixed-precision run), without the optimizer state.")
        {
            input, output, format,
        };
        command.SetAction(parse =>
        {
            SpatialNet.Runtime.TorchNativeRuntime.EnsureInitialized();
            ConvertFile(parse.GetRequiredValue(input), parse.GetRequiredValue(output), parse.GetValue(format), parse.Output());
            return 0;
        });
        return command;
    }

    internal static void InspectFile(string path, WeightFileFormat format, bool json, TextWriter output)
    {
        using var sd = StateDictFile.Read(path, format);
        bool hf = HuggingFaceVit.LooksLikeHuggingFace(sd.Keys);
        long total = 0;
        var tensors = new JsonArray();
        int width = sd.Keys.DefaultIfEmpty("name").Max(k => k.Length);
        var lines = new List<string>();
        foreach (var (name, t) in sd.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            total += t.numel();
            tensors.Add(new JsonObject { ["name"] = name, ["dtype"] = t.dtype.ToString(), ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode?)d).ToArray()) });
            lines.Add($"{name.PadRight(width)}  {t.dtype,-9} [{string.Join(", ", t.shape)}]");
        }
        var naming = hf ? "Hugging Face ViT (convert maps it to timm names)" : "timm / SpatialNet";
        if (json)
        {
            output.WriteLine(new JsonObject
            {
                ["file"] = Path.GetFullPath(path),
                ["format"] = StateDictFile.DetectFormat(path).ToString(),
                ["tensors"] = tensors,
                ["parameters"] = total,
                ["naming"] = hf ? "huggingface" : "timm",
            }.ToJsonString(CommonOptions.Indented));
            return;
        }
        foreach (var line in lines)
            output.WriteLine(line);
        output.WriteLine();
        output.WriteLine($"file:       {Path.GetFullPath(path)} ({StateDictFile.DetectFormat(path)})");
        output.WriteLine($"tensors:    {sd.Count.ToString(CultureInfo.InvariantCulture)}");
        output.WriteLine($"parameters: {total.ToString("N0", CultureInfo.InvariantCulture)}");
        output.WriteLine($"naming:     {naming}");
    }

    internal static void ConvertFile(string input, string outputPath, WeightFileFormat format, TextWriter output)
    {
        if (format != WeightFileFormat.PyTorch && Training.Workflow.TrainingPipeline.IsTrainingCheckpoint(input))
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            var weights = Training.Workflow.TrainingPipeline.CheckpointModelWeights(input);
            if (weights.Count == 0)
                weights = Training.Checkpoints.TrainingCheckpoint.ReadModelWeights(input);   // not a multi-task model: the trained module's state
            StateDictFile.Write(outputPath, weights);
            output.WriteLine($"wrote {weights.Count} model tensors at full precision to {outputPath} (from a training checkpoint; optimizer state left out)");
            return;
        }
        using var sd = StateDictFile.Read(input, format);
        if (HuggingFaceVit.LooksLikeHuggingFace(sd.Keys))
        {
            using var mapped = HuggingFaceVit.ToTimmNames(sd, input);
            StateDictFile.Write(outputPath, mapped);
            output.WriteLine($"wrote {mapped.Count} tensors with timm names to {outputPath} (from Hugging Face ViT names)");
        }
        else
        {
            StateDictFile.Write(outputPath, sd);
            output.WriteLine($"wrote {sd.Count} tensors to {outputPath}");
        }
    }
}
