using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// The RSVQA baseline's fusion (Lobry et al., 2020, "RSVQA: Visual Question Answering for Remote
/// Sensing Data"): the pooled image vector and the question vector (here the mean of the real
/// question tokens) are each projected to F with a tanh and multiplied element by element:
/// <c>f = tanh(W_v·v) ⊙ tanh(W_q·q)</c>.
/// </summary>
/// <remarks>State-dict names: <c>image_pool.*</c> (attention pooling only), <c>image_proj</c>, <c>question_proj</c>.</remarks>
public sealed class ElementwiseProductFusion : VqaFusion
{
    private readonly TokenPooling image_pool;
    private readonly Linear image_proj;
    private readonly Linear question_proj;
    private readonly nn.Module<Tensor, Tensor> drop;

    /// <summary>Creates the fusion.</summary>
    /// <param name="layout">The image encoder's token layout.</param>
    /// <param name="pooling">How image tokens are pooled to one vector.</param>
    /// <param name="attentionPoolHeads">Heads of attention pooling (ignored by the others).</param>
    /// <param name="textDim">Width of the question tokens.</param>
    /// <param name="fusionDim">Width F of the product.</param>
    /// <param name="dropRate">Dropout on both vectors before their projections (RSVQA applies dropout there).</param>
    public ElementwiseProductFusion(TokenLayout layout, PoolingKind pooling, int attentionPoolHeads, int textDim, int fusionDim, double dropRate = 0.0)
        : base(nameof(ElementwiseProductFusion))
    {
        if (fusionDim < 1) throw new ArgumentOutOfRangeException(nameof(fusionDim), fusionDim, "fusionDim must be positive.");
        OutputDim = fusionDim;
        image_pool = TokenPooling.Create(pooling, layout, attentionPoolHeads);
        image_proj = nn.Linear(layout.EmbedDim, fusionDim);
        question_proj = nn.Linear(textDim, fusionDim);
        drop = dropRate > 0 ? nn.Dropout(dropRate) : nn.Identity();
        RegisterComponents();
        TextInit.Linears(this);
    }

    /// <inheritdoc />
    public override VqaFusionKind Kind => VqaFusionKind.ElementwiseProduct;

    /// <inheritdoc />
    public override int OutputDim { get; }

    /// <summary>Image tokens [B, N, D], question tokens [B, L, D_t], validity [B, L] → [B, F].</summary>
    public override Tensor forward(Tensor imageTokens, Tensor questionTokens, Tensor valid)
    {
        using var scope = NewDisposeScope();
        var image = image_proj.call(drop.call(image_pool.call(imageTokens))).tanh();
        var question = question_proj.call(drop.call(TextMasks.MaskedMean(questionTokens, valid))).tanh();
        return (image * question).MoveToOuterDisposeScope();
    }
}
