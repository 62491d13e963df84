namespace SpatialNet.Modules;

/// <summary>Activation used inside the transformer MLP (paper Eq. 5 uses ReLU; timm uses GELU).</summary>
public enum MlpActivation
{
    /// <summary>Gaussian error linear unit, exact (erf) form — timm's default.</summary>
    Gelu,
    /// <summary>Rectified linear unit, as written in the paper's Eq. (5).</summary>
    Relu,
}

/// <summary>How the encoder's tokens are pooled into one vector for a classifier head.</summary>
public enum GlobalPool
{
    /// <summary>The class token (timm <c>global_pool='token'</c>).</summary>
    Token,
    /// <summary>Mean over patch tokens, followed by <c>fc_norm</c> (timm <c>global_pool='avg'</c>).</summary>
    Average,
}

/// <summary>
/// Settings of a <c>VisionTransformer</c>. Defaults are the SpatialNet-ViT paper's
/// configuration: 12 layers, D = 512, 8 heads, patch 16, 256×256 input (256 patches).
/// </summary>
public sealed class VisionTransformerOptions
{
    /// <summary>Input height in pixels; must be divisible by <see cref="PatchSize"/>.</summary>
    public int ImageHeight { get; set; } = 256;

    /// <summary>Input width in pixels; must be divisible by <see cref="PatchSize"/>.</summary>
    public int ImageWidth { get; set; } = 256;

    /// <summary>Square input size shortcut: sets both <see cref="ImageHeight"/> and <see cref="ImageWidth"/>.</summary>
    public int ImageSize { get => ImageHeight; set { ImageHeight = value; ImageWidth = value; } }

    /// <summary>Patch side P (the patch embedding is a P×P convolution with stride P).</summary>
    public int PatchSize { get; set; } = 16;

    /// <summary>Number of input bands (3 for RGB; any positive number for multispectral).</summary>
    public int InChannels { get; set; } = 3;

    /// <summary>Token width D.</summary>
    public int EmbedDim { get; set; } = 512;

    /// <summary>Number of encoder blocks.</summary>
    public int Depth { get; set; } = 12;

    /// <summary>Attention heads; must divide <see cref="EmbedDim"/>.</summary>
    public int NumHeads { get; set; } = 8;

    /// <summary>MLP hidden width as a multiple of D.</summary>
    public double MlpRatio { get; set; } = 4.0;

    /// <summary>Bias on the fused qkv projection.</summary>
    public bool QkvBias { get; set; } = true;

    /// <summary>LayerNorm on per-head queries and keys (timm <c>qk_norm</c>).</summary>
    public bool QkNorm { get; set; }

    /// <summary>MLP activation (GELU default; ReLU as in the paper's Eq. 5).</summary>
    public MlpActivation Activation { get; set; } = MlpActivation.Gelu;

    /// <summary>Prepend a learned class token.</summary>
    public bool ClassToken { get; set; } = true;

    /// <summary>Pooling used by <c>Pool</c> / the built-in classifier head.</summary>
    public GlobalPool GlobalPool { get; set; } = GlobalPool.Token;

    /// <summary>Dropout after position embedding, in the MLP and after projections.</summary>
    public double DropRate { get; set; }

    /// <summary>Dropout on attention weights.</summary>
    public double AttnDropRate { get; set; }

    /// <summary>Stochastic depth rate of the last block; rises linearly from 0 over the blocks.</summary>
    public double DropPathRate { get; set; }

    /// <summary>LayerScale initial value; <c>null</c> disables LayerScale.</summary>
    public double? LayerScaleInit { get; set; }

    /// <summary>LayerNorm epsilon (timm: 1e-6).</summary>
    public double NormEps { get; set; } = 1e-6;

    /// <summary>Classes of the built-in timm-style <c>head</c>; 0 (default) makes it an identity.</summary>
    public int NumClasses { get; set; }

    /// <summary>Number of patches along height and width.</summary>
    public (int Rows, int Cols) GridSize => (ImageHeight / PatchSize, ImageWidth / PatchSize);

    /// <summary>The paper's configuration (the defaults).</summary>
    public static VisionTransformerOptions Paper() => new();

    /// <summary>A tiny configuration that trains on a CPU in seconds: 64×64, patch 8, D 64, 4 layers, 4 heads.</summary>
    public static VisionTransformerOptions Tiny() => new()
    {
        ImageSize = 64, PatchSize = 8, EmbedDim = 64, Depth = 4, NumHeads = 4,
    };

    /// <summary>A small CPU configuration: 64×64, patch 8, D 128, 6 layers, 4 heads.</summary>
    public static VisionTransformerOptions Small() => new()
    {
        ImageSize = 64, PatchSize = 8, EmbedDim = 128, Depth = 6, NumHeads = 4,
    };

    /// <summary>A copy of these options.</summary>
    public VisionTransformerOptions Clone() => (VisionTransformerOptions)MemberwiseClone();
}
