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
    /// Strict (default): any missing, unexpected or shape-mismatched key throws
    /// <see cref="WeightLoadException"/> and the model is left unchanged. Non-strict: matching keys
    /// are loaded and the rest reported.
    /// </summary>
    public bool Strict { get; set; } = true;

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
