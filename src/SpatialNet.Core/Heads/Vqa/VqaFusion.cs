using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Combines image tokens [B, N, D] with encoded question tokens [B, L, D_t] (and their validity
/// [B, L]) into one vector [B, F] per sample, which the answer classifier reads.
/// </summary>
public abstract class VqaFusion : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <summary>Creates the module.</summary>
    /// <param name="name">Module name.</param>
    protected VqaFusion(string name) : base(name)
    {
    }

    /// <summary>Which fusion this is.</summary>
    public abstract VqaFusionKind Kind { get; }

    /// <summary>Width F of the fused vector.</summary>
    public abstract int OutputDim { get; }

    /// <summary>Creates the fusion <paramref name="options"/> choose.</summary>
    /// <param name="options">Head settings (fusion kind, depth, width, pooling).</param>
    /// <param name="layout">The image encoder's token layout.</param>
    /// <param name="textDim">Width of the question tokens.</param>
    public static VqaFusion Create(VqaHeadOptions options, TokenLayout layout, int textDim)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Fusion switch
        {
            VqaFusionKind.CrossAttention => new CrossAttentionFusion(textDim, layout.EmbedDim, options.FusionDepth, options.NumHeads,
                options.MlpRatio, options.TextDropRate, options.TextAttnDropRate),
            VqaFusionKind.ElementwiseProduct => new ElementwiseProductFusion(layout, options.ResolvePooling(layout), options.AttentionPoolHeads,
                textDim, options.FusionDim ?? textDim, options.Dropout),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Fusion, "Allowed fusions: CrossAttention, ElementwiseProduct."),
        };
    }
}
