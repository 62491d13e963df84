using SpatialNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Weights;

/// <summary>
/// Loads checkpoints into models and exports models' weights. Loading copies each checkpoint tensor
/// into the model's existing parameter (so <c>requires_grad</c>, device and dtype stay as they were),
/// checks every shape, adapts the position embedding and the patch-embedding bands of each
/// <see cref="VisionTransformer"/> in the model when allowed, and returns a <see cref="LoadReport"/>.
/// </summary>
/// <remarks>
/// Works for any module: keys are the module's <c>state_dict()</c> names. To load an encoder checkpoint
/// into a larger model, pass the encoder submodule.
/// </remarks>
public static class ModelWeights
{
    /// <summary>Reads <paramref name="path"/> (safetensors or PyTorch zip) and loads it into <paramref name="model"/>.</summary>
    /// <exception cref="WeightLoadException">Strict mode and the checkpoint does not match; the model is unchanged.</exception>
    public static LoadReport Load(nn.Module model, string path, WeightLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var checkpoint = StateDictFile.Read(path);
        return Load(model, checkpoint, options, path);
    }

    /// <summary>Loads an in-memory checkpoint into <paramref name="model"/>; the checkpoint is not changed.</summary>
    /// <param name="model">Target model.</param>
    /// <param name="checkpoint">Tensors by name (timm or Hugging Face names, see <see cref="WeightLoadOptions.Naming"/>).</param>
    /// <param name="options">Strictness and adaptation settings (defaults: strict, adapt).</param>
    /// <param name="source">What to call the checkpoint in messages.</param>
    /// <exception cref="WeightLoadException">Strict mode and the checkpoint does not match; the model is unchanged.</exception>
    public static LoadReport Load(nn.Module model, IReadOnlyDictionary<string, Tensor> checkpoint, WeightLoadOptions? options = null, string source = "state dict")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(checkpoint);
        options ??= new WeightLoadOptions();
        var naming = options.Naming == CheckpointNaming.Auto
            ? (HuggingFaceVit.LooksLikeHuggingFace(checkpoint.Keys) ? CheckpointNaming.HuggingFace : CheckpointNaming.Timm)
            : options.Naming;
        using var mapped = naming == CheckpointNaming.HuggingFace ? HuggingFaceVit.ToTimmNames(checkpoint, source) : null;
        IReadOnlyDictionary<string, Tensor> named = mapped ?? checkpoint;

        using var scope = NewDisposeScope();
        var targets = model.state_dict();
        var encoders = FindEncoders(model);
        var plan = new List<(Tensor Target, Tensor Value)>();
        var loaded = new List<string>();
        var adapted = new List<string>();
        var missing = new List<string>();
        var mismatched = new List<ShapeMismatch>();

        foreach (var (key, target) in targets)
        {
            if (!named.TryGetValue(key, out var value)) { missing.Add(key); continue; }
            if (!target.shape.SequenceEqual(value.shape))
            {
                var adaptedValue = TryAdapt(key, target, value, encoders, options, out var how);
                if (adaptedValue is null)
                {
                    mismatched.Add(new ShapeMismatch(key, target.shape, value.shape));
                    continue;
                }
                adapted.Add($"{key}: {how}");
                value = adaptedValue;
            }
            plan.Add((target, value));
            loaded.Add(key);
        }
        var unexpected = named.Keys.Where(k => !targets.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var report = new LoadReport(loaded, adapted, missing, unexpected, mismatched);
        if (options.Strict && (mismatched.Count > 0
            || missing.Any(k => !WeightLoadOptions.InGroups(k, options.AllowMissing))
            || unexpected.Any(k => !WeightLoadOptions.InGroups(k, options.AllowUnexpected))))
            throw new WeightLoadException(source, report);

        using (no_grad())
        {
            foreach (var (target, value) in plan)
                target.copy_(value);
        }
        return report;
    }

    /// <summary>
    /// Writes the model's <c>state_dict()</c> — timm names for this library's encoder — as safetensors
    /// or a PyTorch zip checkpoint (format from <paramref name="format"/> or the extension). A timm
    /// <c>VisionTransformer</c> with the same settings loads it with <c>load_state_dict</c>.
    /// </summary>
    public static void Save(nn.Module model, string path, WeightFileFormat format = WeightFileFormat.Auto)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        StateDictFile.Write(path, model.state_dict(), format);
    }

    private static List<(string Prefix, VisionTransformer Encoder)> FindEncoders(nn.Module model)
    {
        var found = new List<(string, VisionTransformer)>();
        if (model is VisionTransformer root) found.Add(("", root));
        foreach (var (name, module) in model.named_modules())
            if (module is VisionTransformer vit && !ReferenceEquals(vit, model))
                found.Add((name + ".", vit));
        return found;
    }

    /// <summary>The adapted checkpoint tensor (owned by the current dispose scope), or null when none applies.</summary>
    private static Tensor? TryAdapt(string key, Tensor target, Tensor value,
        List<(string Prefix, VisionTransformer Encoder)> encoders, WeightLoadOptions options, out string how)
    {
        how = "";
        foreach (var (prefix, encoder) in encoders)
        {
            if (options.ResamplePositionEmbedding && key == prefix + "pos_embed"
                && value.dim() == 3 && value.shape[0] == 1 && value.shape[2] == target.shape[2])
            {
                int prefixTokens = encoder.NumPrefixTokens;
                (int Rows, int Cols) from;
                try { from = options.SourceGrid ?? PositionEmbeddings.InferSquareGrid(value.shape[1], prefixTokens); }
                catch (ArgumentException) { return null; }
                if ((long)from.Rows * from.Cols + prefixTokens != value.shape[1]) return null;
                var to = encoder.Options.GridSize;
                how = $"position embedding resampled from a {from.Rows}×{from.Cols} to a {to.Rows}×{to.Cols} grid (bicubic, antialiased)";
                return PositionEmbeddings.Resample(value, from, to, prefixTokens);
            }
            if (options.AdaptInputChannels && key == prefix + "patch_embed.proj.weight" && value.dim() == 4
                && value.shape[0] == target.shape[0] && value.shape[2] == target.shape[2] && value.shape[3] == target.shape[3])
            {
                how = $"patch embedding adapted from {value.shape[1]} to {target.shape[1]} input bands";
                return InputChannelAdapter.Adapt(value, (int)target.shape[1]);
            }
        }
        return null;
    }
}
