using System.Globalization;
using SpatialNet.Weights;

namespace SpatialNet.Cli;

/// <summary><c>spatialnet weights inspect|convert</c>.</summary>
internal static class WeightsCommands
{
    public const string Help = """
        spatialnet weights inspect <file> [--format auto|safetensors|pytorch]
            Lists every tensor (name, dtype, shape), the parameter count and the naming scheme
            (timm or Hugging Face ViT).
        spatialnet weights convert <input> <output> [--format auto|safetensors|pytorch]
            Rewrites a checkpoint with timm names (Hugging Face ViT keys are mapped, q/k/v fused);
            the output format follows the output file's extension (.safetensors, .pth/.pt/.bin).
            A training checkpoint (checkpoints/best.safetensors, last.safetensors) becomes the model's
            weights alone, at full precision (the float32 masters of a bf16 mixed-precision run), without
            the optimizer state: the same tensors as the run's model.safetensors.
        """;

    public static int Run(CommandLine cl, TextWriter output)
    {
        if (cl.Words.Count < 2) throw new UsageException("weights needs a sub-command: inspect or convert\n" + Help);
        var format = ParseFormat(cl.Optional("format"));
        switch (cl.Words[1])
        {
            case "inspect":
                if (cl.Words.Count != 3) throw new UsageException("usage: spatialnet weights inspect <file>");
                cl.RejectUnknown();
                Inspect(cl.Words[2], format, output);
                return 0;
            case "convert":
                if (cl.Words.Count != 4) throw new UsageException("usage: spatialnet weights convert <input> <output>");
                cl.RejectUnknown();
                Convert(cl.Words[2], cl.Words[3], format, output);
                return 0;
            default:
                throw new UsageException($"unknown weights sub-command '{cl.Words[1]}' (allowed: inspect, convert)");
        }
    }

    private static WeightFileFormat ParseFormat(string? value) => value?.ToLowerInvariant() switch
    {
        null or "auto" => WeightFileFormat.Auto,
        "safetensors" => WeightFileFormat.Safetensors,
        "pytorch" or "pth" => WeightFileFormat.PyTorch,
        _ => throw new UsageException($"--format: '{value}' is not one of auto, safetensors, pytorch"),
    };

    internal static void Inspect(string path, WeightFileFormat format, TextWriter output)
    {
        using var sd = StateDictFile.Read(path, format);
        bool hf = HuggingFaceVit.LooksLikeHuggingFace(sd.Keys);
        long total = 0;
        int width = sd.Keys.DefaultIfEmpty("name").Max(k => k.Length);
        foreach (var (name, t) in sd.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            total += t.numel();
            output.WriteLine($"{name.PadRight(width)}  {t.dtype,-9} [{string.Join(", ", t.shape)}]");
        }
        output.WriteLine();
        output.WriteLine($"file:       {Path.GetFullPath(path)} ({StateDictFile.DetectFormat(path)})");
        output.WriteLine($"tensors:    {sd.Count.ToString(CultureInfo.InvariantCulture)}");
        output.WriteLine($"parameters: {total.ToString("N0", CultureInfo.InvariantCulture)}");
        output.WriteLine($"naming:     {(hf ? "Hugging Face ViT (convert maps it to timm names)" : "timm / SpatialNet")}");
    }

    internal static void Convert(string input, string outputPath, WeightFileFormat format, TextWriter output)
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
        bool hf = HuggingFaceVit.LooksLikeHuggingFace(sd.Keys);
        if (hf)
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
