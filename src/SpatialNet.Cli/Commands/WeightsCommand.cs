using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SpatialNet.Cli.Output;
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
        var sha256 = new Option<string>("--sha256")
        {
            Description = "The file's published SHA-256 (64 hex digits; Hugging Face lists it on the file's page): the file is verified before it is read.",
            HelpName = "HASH",
        };
        sha256.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && !StateDictFile.IsSha256(r.Tokens[0].Value))
                r.AddError($"'--sha256': '{r.Tokens[0].Value}' is not a SHA-256; allowed 64 hexadecimal digits.");
        });
        var command = new Command("inspect", "List every tensor (name, dtype, shape; natural order), the parameter count and the naming scheme (timm or Hugging Face ViT). Safetensors files are read from the header alone; a training checkpoint's optimizer state is counted apart from the model.") { file, format, sha256, json };
        command.SetAction(parse =>
        {
            if (parse.GetValue(sha256) is { } expected)
                StateDictFile.VerifySha256(parse.GetRequiredValue(file), expected);
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

    /// <summary>One tensor of a weight file: name, element type, shape, and the part of a training checkpoint it belongs to.</summary>
    internal sealed record TensorEntry(string Name, string DType, long[] Shape, string Group)
    {
        public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
    }

    /// <summary>
    /// The tensors of <paramref name="path"/>: for safetensors from the header alone (no tensor is read,
    /// so a forged header cannot make it allocate), for PyTorch files by loading them.
    /// </summary>
    internal static (List<TensorEntry> Tensors, bool TrainingCheckpoint) ReadEntries(string path, WeightFileFormat format)
    {
        var detected = format == WeightFileFormat.Auto ? StateDictFile.DetectFormat(path) : format;
        if (detected == WeightFileFormat.Safetensors)
        {
            using var reader = SafetensorsFile.Open(path);
            bool checkpoint = reader.Metadata.ContainsKey(Training.Checkpoints.TrainingCheckpoint.MetadataKey);
            if (checkpoint)
                Training.Checkpoints.TrainingCheckpoint.ReadInfo(path);   // a damaged checkpoint is reported, not listed
            else
                StateDictFile.VerifyChecksum(reader, path);                // so is damaged model.safetensors
            return ([.. reader.Names.Select(n => new TensorEntry(n, reader.DType(n).ToString(), reader.Shape(n), checkpoint ? Group(n) : "model"))], checkpoint);
        }
        SpatialNet.Runtime.TorchNativeRuntime.EnsureInitialized();
        using var sd = StateDictFile.Read(path, detected);
        return ([.. sd.Select(kv => new TensorEntry(kv.Key, kv.Value.dtype.ToString(), kv.Value.shape, "model"))], false);
    }

    // A training checkpoint's parts: model.* (parameters and buffers), optimizer.* (moments, masters), the rest (generator state).
    private static string Group(string name) =>
        name.StartsWith("model.", StringComparison.Ordinal) ? "model"
        : name.StartsWith("optimizer.", StringComparison.Ordinal) ? "optimizer"
        : "other";

    internal static void InspectFile(string path, WeightFileFormat format, bool json, TextWriter output)
    {
        var (all, checkpoint) = ReadEntries(path, format);
        all.Sort((a, b) => NaturalComparer.Instance.Compare(a.Name, b.Name));
        var model = all.Where(t => t.Group == "model").ToList();
        var optimizer = all.Where(t => t.Group == "optimizer").ToList();
        var other = all.Where(t => t.Group == "other").ToList();
        long parameters = model.Sum(t => t.Elements);
        bool hf = HuggingFaceVit.LooksLikeHuggingFace(model.Select(t => t.Name));
        var detected = StateDictFile.DetectFormat(path);
        if (json)
        {
            static JsonArray List(IEnumerable<TensorEntry> ts) => new(ts.Select(t => (JsonNode?)new JsonObject
            {
                ["name"] = t.Name,
                ["dtype"] = t.DType,
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode?)d).ToArray()),
            }).ToArray());
            var root = new JsonObject
            {
                ["file"] = Path.GetFullPath(path),
                ["format"] = detected.ToString(),
                ["training_checkpoint"] = checkpoint,
                ["tensors"] = List(model),
                ["parameters"] = parameters,
                ["naming"] = hf ? "huggingface" : "timm",
            };
            if (checkpoint)
            {
                root["optimizer_state"] = List(optimizer);
                root["optimizer_values"] = optimizer.Sum(t => t.Elements);
                root["other_state"] = List(other);
            }
            output.WriteLine(root.ToJsonString(CommonOptions.Indented));
            return;
        }
        int width = all.Select(t => t.Name.Length).DefaultIfEmpty(4).Max();
        foreach (var t in model)
            output.WriteLine($"{t.Name.PadRight(width)}  {t.DType,-9} [{string.Join(", ", t.Shape)}]");
        output.WriteLine();
        output.WriteLine($"file:       {Path.GetFullPath(path)} ({detected}{(checkpoint ? ", training checkpoint" : "")})");
        output.WriteLine($"tensors:    {model.Count.ToString(CultureInfo.InvariantCulture)}{(checkpoint ? " (model parameters and buffers)" : "")}");
        output.WriteLine($"parameters: {parameters.ToString("N0", CultureInfo.InvariantCulture)}");
        if (checkpoint)
        {
            output.WriteLine($"optimizer:  {optimizer.Count.ToString(CultureInfo.InvariantCulture)} tensors, {optimizer.Sum(t => t.Elements).ToString("N0", CultureInfo.InvariantCulture)} values (AdamW moments{(optimizer.Any(t => t.Name.EndsWith(".master", StringComparison.Ordinal)) ? ", float32 masters" : "")}; not parameters)");
            if (other.Count > 0)
                output.WriteLine($"other:      {string.Join(", ", other.Select(t => t.Name))}");
        }
        output.WriteLine($"naming:     {(hf ? "Hugging Face ViT (convert maps it to timm names)" : "timm / SpatialNet")}");
    }

    internal static void ConvertFile(string input, string outputPath, WeightFileFormat format, TextWriter output)
    {
        if (format != WeightFileFormat.PyTorch && Training.Pipeline.TrainingPipeline.IsTrainingCheckpoint(input))
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            var weights = Training.Pipeline.TrainingPipeline.CheckpointModelWeights(input);
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
