using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// One pre-norm transformer encoder layer (paper Eq. 4–5), as timm's <c>Block</c>:
/// <c>x = x + drop_path(ls1(attn(norm1(x))))</c>, <c>x = x + drop_path(ls2(mlp(norm2(x))))</c>.
/// LayerScale and DropPath are identities when switched off. State-dict names: <c>norm1</c>,
/// <c>attn.*</c>, <c>ls1.gamma</c> (only with LayerScale), <c>norm2</c>, <c>mlp.*</c>, <c>ls2.gamma</c>.
/// </summary>
public sealed class EncoderBlock : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> norm1;
    private readonly MultiHeadSelfAttention attn;
    private readonly nn.Module<Tensor, Tensor> ls1;
    private readonly nn.Module<Tensor, Tensor> drop_path1;
    private readonly nn.Module<Tensor, Tensor> norm2;
    private readonly Mlp mlp;
    private readonly nn.Module<Tensor, Tensor> ls2;
    private readonly nn.Module<Tensor, Tensor> drop_path2;

    /// <summary>Creates the block.</summary>
    /// <param name="options">Width, heads, MLP ratio, activation, qk-norm, dropout rates, LayerScale and norm epsilon are read from here.</param>
    /// <param name="dropPathRate">This block's stochastic-depth rate (the encoder raises it linearly over the blocks).</param>
    public EncoderBlock(VisionTransformerOptions options, double dropPathRate = 0.0) : base(nameof(EncoderBlock))
    {
        ArgumentNullException.ThrowIfNull(options);
        int dim = options.EmbedDim;
        norm1 = Layers.LayerNorm(dim, options.NormEps);
        attn = new MultiHeadSelfAttention(dim, options.NumHeads, options.QkvBias, options.QkNorm,
            options.AttnDropRate, options.DropRate, options.NormEps);
        ls1 = options.LayerScaleInit is double g1 ? new LayerScale(dim, g1) : nn.Identity();
        drop_path1 = dropPathRate > 0.0 ? new DropPath(dropPathRate) : nn.Identity();
        norm2 = Layers.LayerNorm(dim, options.NormEps);
        mlp = new Mlp(dim, options.MlpHiddenDim, options.Activation, options.DropRate);
        ls2 = options.LayerScaleInit is double g2 ? new LayerScale(dim, g2) : nn.Identity();
        drop_path2 = dropPathRate > 0.0 ? new DropPath(dropPathRate) : nn.Identity();
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>The block with an attention mask (see <see cref="MultiHeadSelfAttention.Forward"/>), for padded or causal token sequences.</summary>
    /// <param name="x">Tokens [B, N, D].</param>
    /// <param name="attentionMask">Boolean mask broadcastable to [B, heads, N, N], <c>true</c> = may attend; <c>null</c> for none.</param>
    public Tensor Forward(Tensor x, Tensor? attentionMask)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = NewDisposeScope();
        x = x + drop_path1.call(ls1.call(attn.Forward(norm1.call(x), attentionMask)));
        x = x + drop_path2.call(ls2.call(mlp.call(norm2.call(x))));
        return x.MoveToOuterDisposeScope();
    }
}
