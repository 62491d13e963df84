using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// The default question encoder: token plus learned position embeddings, then pre-norm transformer
/// encoder layers (<see cref="EncoderBlock"/>, the same layer as the image encoder, paper Eq. 4–5)
/// whose self-attention ignores padding, then a final LayerNorm.
/// </summary>
/// <remarks>State-dict names: <c>embed.token_embed.weight</c>, <c>embed.pos_embed</c>, <c>blocks.N.*</c> (timm's block names), <c>norm</c>.</remarks>
public sealed class TransformerQuestionEncoder : nn.Module<Tensor, Tensor, Tensor>, IQuestionEncoder
{
    private readonly TokenEmbedding embed;
    private readonly ModuleList<EncoderBlock> blocks;
    private readonly nn.Module<Tensor, Tensor> norm;

    /// <summary>Creates the encoder.</summary>
    /// <param name="vocabSize">Vocabulary size V.</param>
    /// <param name="maxLength">Longest question in tokens.</param>
    /// <param name="dim">Token width.</param>
    /// <param name="depth">Encoder layers (0: embeddings and the final norm only).</param>
    /// <param name="numHeads">Attention heads; must divide <paramref name="dim"/>.</param>
    /// <param name="mlpRatio">MLP hidden width as a multiple of <paramref name="dim"/>.</param>
    /// <param name="dropRate">Dropout after the embeddings, the projections and in the MLP.</param>
    /// <param name="attnDropRate">Dropout on attention weights.</param>
    public TransformerQuestionEncoder(int vocabSize, int maxLength, int dim, int depth = 2, int numHeads = 4,
        double mlpRatio = 4.0, double dropRate = 0.0, double attnDropRate = 0.0)
        : base(nameof(TransformerQuestionEncoder))
    {
        if (depth < 0) throw new ArgumentOutOfRangeException(nameof(depth), depth, "depth must be 0 or more.");
        if (numHeads <= 0 || dim <= 0 || dim % numHeads != 0)
            throw new ArgumentOutOfRangeException(nameof(numHeads), numHeads, $"numHeads must be a positive divisor of dim = {dim}.");
        EmbedDim = dim;
        embed = new TokenEmbedding(vocabSize, maxLength, dim, dropRate);
        var layer = new VisionTransformerOptions
        {
            EmbedDim = dim,
            NumHeads = numHeads,
            MlpRatio = mlpRatio,
            DropRate = dropRate,
            AttnDropRate = attnDropRate,
        };
        blocks = nn.ModuleList(Enumerable.Range(0, depth).Select(_ => new EncoderBlock(layer)).ToArray());
        norm = nn.LayerNorm(dim, 1e-6);
        RegisterComponents();
        TextInit.Linears(this);
    }

    /// <inheritdoc />
    public int EmbedDim { get; }

    /// <summary>Ids [B, L] and validity [B, L] → tokens [B, L, D].</summary>
    public override Tensor forward(Tensor questionIds, Tensor valid)
    {
        using var scope = NewDisposeScope();
        var x = embed.call(questionIds);
        var mask = TextMasks.KeyPadding(valid);
        foreach (var block in blocks)
        {
            x = block.Forward(x, mask);
        }

        return norm.call(x).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Encode(Tensor questionIds, Tensor valid) => call(questionIds, valid);

    /// <inheritdoc />
    public nn.Module AsModule() => this;
}
