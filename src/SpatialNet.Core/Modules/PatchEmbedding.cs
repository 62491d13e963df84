using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// Splits an image into non-overlapping P×P patches and projects each to a D-dimensional token
/// (paper Eq. 1) with one P×P convolution of stride P, as timm's <c>PatchEmbed</c>.
/// Input [B, C, H, W] with H and W divisible by P; output [B, (H/P)·(W/P), D], patches in
/// row-major order. State-dict names: <c>proj.weight</c> [D, C, P, P], <c>proj.bias</c> [D].
/// </summary>
public sealed class PatchEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d proj;

    /// <summary>Creates the patch embedding.</summary>
    /// <param name="inChannels">Input bands C (any positive number).</param>
    /// <param name="embedDim">Token width D.</param>
    /// <param name="patchSize">Patch side P.</param>
    public PatchEmbedding(int inChannels, int embedDim, int patchSize) : base(nameof(PatchEmbedding))
    {
        if (inChannels <= 0) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "inChannels must be positive.");
        if (embedDim <= 0) throw new ArgumentOutOfRangeException(nameof(embedDim), embedDim, "embedDim must be positive.");
        if (patchSize <= 0) throw new ArgumentOutOfRangeException(nameof(patchSize), patchSize, "patchSize must be positive.");
        InChannels = inChannels;
        PatchSize = patchSize;
        // PyTorch's default Conv2d initialisation is kept, as timm does for patch_embed.proj.
        proj = nn.Conv2d(inChannels, embedDim, kernel_size: patchSize, stride: patchSize);
        RegisterComponents();
    }

    /// <summary>Number of input bands C.</summary>
    public int InChannels { get; }

    /// <summary>Patch side P.</summary>
    public int PatchSize { get; }

    /// <summary>
    /// Patch grid (rows, cols) for an image batch [B, C, H, W]; throws <see cref="ArgumentException"/>
    /// when the shape, band count or size does not fit this embedding.
    /// </summary>
    public (int Rows, int Cols) GridFor(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4)
            throw new ArgumentException($"Images must be [B, C, H, W]; got shape [{string.Join(", ", images.shape)}].", nameof(images));
        if (images.shape[1] != InChannels)
            throw new ArgumentException($"Images have {images.shape[1]} bands but the patch embedding expects InChannels = {InChannels}.", nameof(images));
        long h = images.shape[2], w = images.shape[3];
        if (h % PatchSize != 0 || w % PatchSize != 0 || h == 0 || w == 0)
            throw new ArgumentException($"Image size {h}×{w} is not a positive multiple of PatchSize = {PatchSize}.", nameof(images));
        return ((int)(h / PatchSize), (int)(w / PatchSize));
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor images)
    {
        GridFor(images);
        using var scope = NewDisposeScope();
        // [B, D, H/P, W/P] -> [B, D, N] -> [B, N, D]
        var tokens = proj.call(images).flatten(2).transpose(1, 2);
        return tokens.MoveToOuterDisposeScope();
    }
}
