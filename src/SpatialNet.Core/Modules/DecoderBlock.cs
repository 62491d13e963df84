using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// One pre-norm transformer decoder layer (Vaswani et al., 2017, with the pre-norm placement of the
/// encoder blocks, paper Eq. 4–5): masked self-attention over the text tokens, cross-attention from
/// the text tokens to the memory (image tokens), and the MLP, each in a residual branch:
/// <c>x = x + attn(norm1(x), mask)</c>, <c>x = x + cross_attn(norm2(x), memory)</c>,
/// <c>x = x + mlp(norm3(x))</c>.
/// </summary>
/// <remarks>
/// With a causal self-attention mask this is the caption decoder's layer; with a key-padding mask it
/// is the VQA head's co-attention (fusion) layer. State-dict names: <c>norm1</c>, <c>attn.*</c>
/// (<see cref="MultiHeadSelfAttention"/>: fused <c>qkv</c>, <c>proj</c>), <c>norm2</c>,
/// <c>cross_attn.*</c> (<see cref="CrossAttention"/>: <c>q</c>, <c>kv</c>, <c>proj</c>),
/// <c>norm3</c>, <c>mlp.*</c> (<c>fc1</c>, <c>fc2</c>).
/// </remarks>
public sealed class DecoderBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> norm1;
    private readonly MultiHeadSelfAttention attn;
    private readonly nn.Module<Tensor, Tensor> norm2;
    private readonly CrossAttention cross_attn;
    private readonly nn.Module<Tensor, Tensor> norm3;
    private readonly Mlp mlp;

    /// <summary>Creates the layer.</summary>
    /// <param name="dim">Text token width D.</param>
    /// <param name="numHeads">Heads of both attentions; must divide <paramref name="dim"/>.</param>
    /// <param name="memoryDim">Width of the memory tokens; null means D.</param>
    /// <param name="mlpRatio">MLP hidden width as a multiple of D; positive.</param>
    /// <param name="dropRate">Dropout after the attention projections and in the MLP, in [0, 1).</param>
    /// <param name="attnDropRate">Dropout on attention weights, in [0, 1).</param>
    /// <param name="activation">MLP activation.</param>
    /// <param name="normEps">LayerNorm epsilon (timm: 1e-6).</param>
    public DecoderBlock(int dim, int numHeads, int? memoryDim = null, double mlpRatio = 4.0, double dropRate = 0.0,
        double attnDropRate = 0.0, MlpActivation activation = MlpActivation.Gelu, double normEps = 1e-6)
        : base(nameof(DecoderBlock))
    {
        if (!(mlpRatio > 0) || double.IsInfinity(mlpRatio))
            throw new ArgumentOutOfRangeException(nameof(mlpRatio), mlpRatio, "mlpRatio must be a finite number > 0.");
        norm1 = Layers.LayerNorm(dim, normEps);
        attn = new MultiHeadSelfAttention(dim, numHeads, qkvBias: true, qkNorm: false, attnDropRate, dropRate, normEps);
        norm2 = Layers.LayerNorm(dim, normEps);
        cross_attn = new CrossAttention(dim, numHeads, memoryDim, qkvBias: true, attnDropRate, dropRate);
        norm3 = Layers.LayerNorm(dim, normEps);
        // Hidden width as timm: int(D · mlp_ratio).
        mlp = new Mlp(dim, Math.Max(1, (int)(dim * mlpRatio)), activation, dropRate);
        RegisterComponents();
    }

    /// <summary>The layer without masks: every text token sees every text token and every memory token.</summary>
    public override Tensor forward(Tensor x, Tensor memory) => Forward(x, memory, null, null);

    /// <summary>The layer with masks.</summary>
    /// <param name="x">Text tokens [B, T, D].</param>
    /// <param name="memory">Memory (image) tokens [B, N, D_m].</param>
    /// <param name="selfAttentionMask">Boolean mask broadcastable to [B, heads, T, T] (causal [T, T] and/or key padding [B, 1, 1, T]); <c>true</c> = may attend; null for none.</param>
    /// <param name="memoryMask">Boolean mask broadcastable to [B, heads, T, N]; null for none.</param>
    /// <param name="causal">Purely causal self-attention without a mask tensor (SDPA's causal form); only without <paramref name="selfAttentionMask"/>.</param>
    /// <returns>[B, T, D].</returns>
    public Tensor Forward(Tensor x, Tensor memory, Tensor? selfAttentionMask, Tensor? memoryMask, bool causal = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(memory);
        using var scope = NewDisposeScope();
        x = x + attn.Forward(norm1.call(x), selfAttentionMask, causal);
        x = x + cross_attn.Forward(norm2.call(x), memory, memoryMask);
        x = x + mlp.call(norm3.call(x));
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The causal layer for incremental decoding: new text tokens that follow the positions cached in
    /// <paramref name="selfAttention"/>, attending to a memory whose keys and values were computed once.
    /// Equals the last T rows of <see cref="Forward"/> with a causal mask over the whole sequence.
    /// </summary>
    /// <param name="x">New text tokens [B·g, T, D].</param>
    /// <param name="selfAttention">Self-attention keys and values of the earlier positions; grows by T.</param>
    /// <param name="memory">Memory keys and values from <see cref="MemoryCache"/> [B, heads, N, head_dim]; query row r reads memory row r / g.</param>
    /// <param name="memoryMask">Boolean mask broadcastable to [B, heads, g·T, N]; null for none.</param>
    /// <returns>[B·g, T, D].</returns>
    internal Tensor ForwardCached(Tensor x, KeyValueCache selfAttention, KeyValueCache memory, Tensor? memoryMask)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = NewDisposeScope();
        x = x + attn.ForwardCached(norm1.call(x), selfAttention);
        x = x + cross_attn.Forward(norm2.call(x), memory, memoryMask);
        x = x + mlp.call(norm3.call(x));
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>The cross-attention keys and values of <paramref name="memory"/> [B, N, D_m], for <see cref="ForwardCached"/>; the caller disposes them.</summary>
    internal KeyValueCache MemoryCache(Tensor memory) => cross_attn.MemoryCache(memory);
}
