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

    /// <summary>
    /// Whether pooled features pass through <c>fc_norm</c> instead of the encoder ending in <c>norm</c>.
    /// <c>null</c> (default) follows timm: <c>true</c> for <see cref="GlobalPool.Average"/>, <c>false</c> for
    /// <see cref="GlobalPool.Token"/>. With <c>fc_norm</c>, <c>norm</c> is an identity, so
    /// <c>ForwardFeatures</c> returns tokens without a final norm — exactly what timm's checkpoints expect.
    /// </summary>
    public bool? FcNorm { get; set; }

    /// <summary>The resolved <see cref="FcNorm"/> (timm's rule when it is <c>null</c>).</summary>
    public bool UsesFcNorm => FcNorm ?? GlobalPool == GlobalPool.Average;

    /// <summary>MLP hidden width, D × <see cref="MlpRatio"/> rounded down (as timm's <c>int(dim * mlp_ratio)</c>).</summary>
    public int MlpHiddenDim => (int)(EmbedDim * MlpRatio);

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

    /// <summary>
    /// Checks every setting and returns one message per problem, each naming the option, its value and
    /// what is allowed; empty when the options are valid.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Require(bool ok, string message) { if (!ok) errors.Add(message); }
        const string Type = nameof(VisionTransformerOptions);
        Require(PatchSize > 0, $"{Type}.{nameof(PatchSize)} = {PatchSize}; allowed: a positive integer.");
        Require(ImageHeight > 0 && (PatchSize <= 0 || ImageHeight % PatchSize == 0),
            $"{Type}.{nameof(ImageHeight)} = {ImageHeight}; allowed: a positive multiple of {nameof(PatchSize)} = {PatchSize}.");
        Require(ImageWidth > 0 && (PatchSize <= 0 || ImageWidth % PatchSize == 0),
            $"{Type}.{nameof(ImageWidth)} = {ImageWidth}; allowed: a positive multiple of {nameof(PatchSize)} = {PatchSize}.");
        Require(InChannels > 0, $"{Type}.{nameof(InChannels)} = {InChannels}; allowed: a positive integer.");
        Require(EmbedDim > 0, $"{Type}.{nameof(EmbedDim)} = {EmbedDim}; allowed: a positive integer.");
        Require(Depth >= 0, $"{Type}.{nameof(Depth)} = {Depth}; allowed: 0 or more.");
        Require(NumHeads > 0 && EmbedDim % NumHeads == 0,
            $"{Type}.{nameof(NumHeads)} = {NumHeads}; allowed: a positive divisor of {nameof(EmbedDim)} = {EmbedDim}.");
        Require(MlpRatio > 0 && MlpHiddenDim > 0, $"{Type}.{nameof(MlpRatio)} = {MlpRatio}; allowed: a positive number with {nameof(EmbedDim)} × {nameof(MlpRatio)} ≥ 1.");
        Require(DropRate >= 0 && DropRate < 1, $"{Type}.{nameof(DropRate)} = {DropRate}; allowed: [0, 1).");
        Require(AttnDropRate >= 0 && AttnDropRate < 1, $"{Type}.{nameof(AttnDropRate)} = {AttnDropRate}; allowed: [0, 1).");
        Require(DropPathRate >= 0 && DropPathRate < 1, $"{Type}.{nameof(DropPathRate)} = {DropPathRate}; allowed: [0, 1).");
        Require(LayerScaleInit is null || (LayerScaleInit > 0 && double.IsFinite(LayerScaleInit.Value)),
            $"{Type}.{nameof(LayerScaleInit)} = {LayerScaleInit}; allowed: null (off) or a positive number.");
        Require(NormEps > 0, $"{Type}.{nameof(NormEps)} = {NormEps}; allowed: a positive number.");
        Require(NumClasses >= 0, $"{Type}.{nameof(NumClasses)} = {NumClasses}; allowed: 0 (no head) or more.");
        Require(Enum.IsDefined(Activation), $"{Type}.{nameof(Activation)} = {Activation}; allowed: {string.Join(", ", Enum.GetNames<MlpActivation>())}.");
        Require(Enum.IsDefined(GlobalPool), $"{Type}.{nameof(GlobalPool)} = {GlobalPool}; allowed: {string.Join(", ", Enum.GetNames<GlobalPool>())}.");
        Require(ClassToken || GlobalPool != GlobalPool.Token,
            $"{Type}.{nameof(GlobalPool)} = {GlobalPool} needs {nameof(ClassToken)} = true; allowed without a class token: {nameof(GlobalPool.Average)}.");
        return errors;
    }

    /// <summary>A copy of these options.</summary>
    public VisionTransformerOptions Clone() => (VisionTransformerOptions)MemberwiseClone();
}
