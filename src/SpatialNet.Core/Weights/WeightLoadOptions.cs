namespace SpatialNet.Weights;

/// <summary>Naming convention of a checkpoint's keys.</summary>
public enum CheckpointNaming
{
    /// <summary>Hugging Face names if any key starts with <c>vit.embeddings.</c> or <c>embeddings.patch_embeddings.</c>, else timm.</summary>
    Auto,
    /// <summary>timm's <c>VisionTransformer</c> names (this library's own names).</summary>
    Timm,
    /// <summary>Hugging Face <c>ViTModel</c> / <c>ViTForImageClassification</c> names, mapped by <see cref="HuggingFaceVit.ToTimmNames"/>.</summary>
    HuggingFace,
}

/// <summary>How <see cref="ModelWeights"/> applies a checkpoint to a model.</summary>
public sealed class WeightLoadOptions
{
    /// <summary>
    /// Strict (default, as PyTorch's <c>load_state_dict(strict=True)</c>): any shape-mismatched key, and
    /// any missing or unexpected key outside <see cref="AllowMissing"/> / <see cref="AllowUnexpected"/>,
    /// throws <see cref="WeightLoadException"/> and the model is left unchanged. Non-strict: matching keys
    /// are loaded and the rest reported.
    /// </summary>
    public bool Strict { get; set; } = true;

    /// <summary>
    /// Groups of model keys a strict load may leave without a checkpoint tensor, as key prefixes
    /// (e.g. <c>heads.</c>, <c>head.</c>); they keep their initial values (timm's <c>pretrained_strict</c> with a new classifier).
    /// </summary>
    public IList<string> AllowMissing { get; init; } = [];

    /// <summary>Groups of checkpoint keys a strict load may ignore, as key prefixes (e.g. <c>head.</c>, a pretrained classifier).</summary>
    public IList<string> AllowUnexpected { get; init; } = [];

    internal static bool InGroups(string key, IEnumerable<string> prefixes) =>
        prefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal) || key == p.TrimEnd('.'));

    /// <summary>Naming convention of the checkpoint (default: detect).</summary>
    public CheckpointNaming Naming { get; set; } = CheckpointNaming.Auto;

    /// <summary>Resample <c>pos_embed</c> when the checkpoint's patch grid differs from the model's (default true).</summary>
    public bool ResamplePositionEmbedding { get; set; } = true;

    /// <summary>
    /// Patch grid (rows, cols) the checkpoint's <c>pos_embed</c> was trained for; <c>null</c> assumes a
    /// square grid (as timm does).
    /// </summary>
    public (int Rows, int Cols)? SourceGrid { get; set; }

    /// <summary>Adapt <c>patch_embed.proj.weight</c> when the checkpoint's band count differs (default true; rule in <see cref="InputChannelAdapter"/>).</summary>
    public bool AdaptInputChannels { get; set; } = true;
}
