using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Question-to-image cross-attention fusion: the question tokens pass through pre-norm
/// <see cref="DecoderBlock"/>s — self-attention over the question (padding masked), cross-attention
/// to every image token, MLP — then a LayerNorm, and are averaged over the real question tokens.
/// Each word can look at the image regions it asks about, which a single pooled image vector cannot offer.
/// </summary>
/// <remarks>State-dict names: <c>blocks.N.*</c> (see <see cref="DecoderBlock"/>), <c>norm</c>.</remarks>
public sealed class CrossAttentionFusion : VqaFusion
{
    private readonly ModuleList<DecoderBlock> blocks;
    private readonly nn.Module<Tensor, Tensor> norm;

    /// <summary>Creates the fusion.</summary>
    /// <param name="textDim">Width of the question tokens (and of the output).</param>
    /// <param name="imageDim">Width D of the image tokens.</param>
    /// <param name="depth">Number of layers; at least 1.</param>
    /// <param name="numHeads">Heads; must divide <paramref name="textDim"/>.</param>
    /// <param name="mlpRatio">MLP hidden width as a multiple of <paramref name="textDim"/>.</param>
    /// <param name="dropRate">Dropout after projections and in the MLP.</param>
    /// <param name="attnDropRate">Dropout on attention weights.</param>
    public CrossAttentionFusion(int textDim, int imageDim, int depth = 1, int numHeads = 4, double mlpRatio = 4.0,
        double dropRate = 0.0, double attnDropRate = 0.0)
        : base(nameof(CrossAttentionFusion))
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "Cross-attention fusion needs at least 1 layer.");
        OutputDim = textDim;
        blocks = nn.ModuleList(Enumerable.Range(0, depth)
            .Select(_ => new DecoderBlock(textDim, numHeads, imageDim, mlpRatio, dropRate, attnDropRate)).ToArray());
        norm = nn.LayerNorm(textDim, 1e-6);
        RegisterComponents();
        TextInit.Linears(this);
    }

    /// <inheritdoc />
    public override VqaFusionKind Kind => VqaFusionKind.CrossAttention;

    /// <inheritdoc />
    public override int OutputDim { get; }

    /// <summary>Image tokens [B, N, D], question tokens [B, L, D_t], validity [B, L] → [B, D_t].</summary>
    public override Tensor forward(Tensor imageTokens, Tensor questionTokens, Tensor valid)
    {
        using var scope = NewDisposeScope();
        var mask = TextMasks.KeyPadding(valid);
        var x = questionTokens;
        foreach (var block in blocks)
        {
            x = block.Forward(x, imageTokens, mask, null);
        }

        return TextMasks.MaskedMean(norm.call(x), valid).MoveToOuterDisposeScope();
    }
}
