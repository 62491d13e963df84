using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// Multi-head self-attention (paper Eq. 2–3; Vaswani et al., 2017) with one fused q/k/v projection,
/// as timm's <c>Attention</c>: <c>softmax(QKᵀ/√d_h)V</c> per head through
/// <c>scaled_dot_product_attention</c>, heads concatenated and projected.
/// Optional qk-norm (Dehghani et al., 2023, ViT-22B) applies a LayerNorm over each head's queries
/// and keys. State-dict names: <c>qkv</c> (weight [3D, D], rows ordered q, k, v and, within each,
/// head by head), <c>q_norm</c>/<c>k_norm</c> (only with qk-norm), <c>proj</c>.
/// </summary>
public sealed class MultiHeadSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly nn.Module<Tensor, Tensor> q_norm;
    private readonly nn.Module<Tensor, Tensor> k_norm;
    private readonly Linear proj;
    private readonly nn.Module<Tensor, Tensor> proj_drop;
    private readonly double attnDropRate;

    /// <summary>Creates the attention layer.</summary>
    /// <param name="dim">Token width D.</param>
    /// <param name="numHeads">Number of heads; must divide <paramref name="dim"/>.</param>
    /// <param name="qkvBias">Bias on the fused qkv projection.</param>
    /// <param name="qkNorm">LayerNorm over each head's queries and keys.</param>
    /// <param name="attnDropRate">Dropout on the attention weights (training only).</param>
    /// <param name="projDropRate">Dropout after the output projection.</param>
    /// <param name="normEps">Epsilon of the qk-norm LayerNorms.</param>
    public MultiHeadSelfAttention(int dim, int numHeads, bool qkvBias = true, bool qkNorm = false,
        double attnDropRate = 0.0, double projDropRate = 0.0, double normEps = 1e-6)
        : base(nameof(MultiHeadSelfAttention))
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "dim must be positive.");
        if (numHeads <= 0 || dim % numHeads != 0)
            throw new ArgumentOutOfRangeException(nameof(numHeads), numHeads, $"numHeads must be a positive divisor of dim = {dim}.");
        if (!(attnDropRate >= 0.0 && attnDropRate < 1.0))
            throw new ArgumentOutOfRangeException(nameof(attnDropRate), attnDropRate, "attnDropRate must be in [0, 1).");
        NumHeads = numHeads;
        HeadDim = dim / numHeads;
        this.attnDropRate = attnDropRate;
        qkv = nn.Linear(dim, dim * 3, hasBias: qkvBias);
        q_norm = qkNorm ? Layers.LayerNorm(HeadDim, normEps) : nn.Identity();
        k_norm = qkNorm ? Layers.LayerNorm(HeadDim, normEps) : nn.Identity();
        proj = nn.Linear(dim, dim);
        proj_drop = Layers.Dropout(projDropRate);
        RegisterComponents();
    }

    /// <summary>Number of heads.</summary>
    public int NumHeads { get; }

    /// <summary>Width of one head, D / heads.</summary>
    public int HeadDim { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>
    /// Attention with an optional mask, for token sequences with padding or a causal order
    /// (the question encoder and the caption decoder).
    /// </summary>
    /// <param name="x">Tokens [B, N, D].</param>
    /// <param name="attentionMask">
    /// Boolean mask broadcastable to [B, heads, N, N] (e.g. [B, 1, 1, N] for key padding, [N, N]
    /// for causality); <c>true</c> lets a query attend to a key, as in PyTorch's
    /// <c>scaled_dot_product_attention</c>. Every query needs at least one allowed key, or its
    /// output is NaN. <c>null</c>: every token attends to every token.
    /// </param>
    /// <param name="isCausal">
    /// Token i attends to tokens 0..i only, through the causal form of scaled dot-product attention
    /// (no mask tensor, so the fused kernels stay available); only without <paramref name="attentionMask"/>.
    /// </param>
    public Tensor Forward(Tensor x, Tensor? attentionMask, bool isCausal = false)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (isCausal && attentionMask is not null)
            throw new ArgumentException("Give either an attention mask or isCausal, not both (fold causality into the mask).", nameof(isCausal));
        using var scope = NewDisposeScope();
        var (q, k, v) = Project(x);
        return Attend(q, k, v, attentionMask, x.shape, isCausal).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Causal attention of new tokens that follow the positions held in <paramref name="cache"/>
    /// (incremental decoding): their keys and values are appended to the cache, and new token i
    /// (position P + i, P = the cached length) attends to positions 0..P + i. The result equals the
    /// last T rows of <see cref="Forward"/> with a causal mask over the whole sequence, while only
    /// the new tokens are projected.
    /// </summary>
    /// <param name="x">New tokens [B, T, D] (T = 1 when decoding one token per step).</param>
    /// <param name="cache">Keys and values of the earlier positions of the same rows; grows by T.</param>
    /// <returns>[B, T, D].</returns>
    internal Tensor ForwardCached(Tensor x, KeyValueCache cache)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(cache);
        using var scope = NewDisposeScope();
        long cached = cache.Length, t = x.shape[1];
        var (q, k, v) = Project(x);
        cache.Append(k, v);
        // One new token may see every cached position: no mask. Several see a shifted lower triangle.
        var mask = t == 1 ? null : ones(t, cached + t, dtype: @bool, device: x.device).tril(cached);
        return Attend(q, cache.Keys!, cache.Values!, mask, x.shape).MoveToOuterDisposeScope();
    }

    // [B, N, D] -> queries, keys, values [B, heads, N, head_dim] (qk-norm applied).
    private (Tensor Query, Tensor Key, Tensor Value) Project(Tensor x)
    {
        long b = x.shape[0], n = x.shape[1];
        // [B, N, 3D] -> [3, B, heads, N, head_dim]
        var parts = qkv.call(x).reshape(b, n, 3, NumHeads, HeadDim).permute(2, 0, 3, 1, 4).unbind(0);
        return (q_norm.call(parts[0]), k_norm.call(parts[1]), parts[2]);
    }

    // softmax(QKᵀ/√d_h)V per head (paper Eq. 2), heads concatenated back to [B, N, D] and projected (Eq. 3).
    private Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? mask, long[] shape, bool isCausal = false)
    {
        var attended = nn.functional.scaled_dot_product_attention(q, k, v, mask, training ? attnDropRate : 0.0, isCausal);
        return proj_drop.call(proj.call(attended.transpose(1, 2).reshape(shape)));
    }
}
