using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// Multi-head cross-attention (Vaswani et al., 2017, the encoder–decoder attention): queries from one
/// token sequence x [B, T, D], keys and values from another, the memory [B, N, D_m] (here the image
/// tokens), <c>softmax(QKᵀ/√d_h)V</c> per head through <c>scaled_dot_product_attention</c>, heads
/// concatenated and projected. Lets question or caption tokens look at the image.
/// </summary>
/// <remarks>
/// State-dict names: <c>q</c> (weight [D, D]), <c>kv</c> (weight [2D, D_m], rows ordered k then v
/// and, within each, head by head, as timm's fused qkv), <c>proj</c> (weight [D, D]).
/// The memory width D_m may differ from D (a text decoder narrower than the image encoder).
/// </remarks>
public sealed class CrossAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear q;
    private readonly Linear kv;
    private readonly Linear proj;
    private readonly nn.Module<Tensor, Tensor> proj_drop;
    private readonly double attnDropRate;

    /// <summary>Creates the layer.</summary>
    /// <param name="dim">Query width D (also the output width).</param>
    /// <param name="numHeads">Heads; must divide <paramref name="dim"/>.</param>
    /// <param name="memoryDim">Width D_m of the memory tokens; null means D.</param>
    /// <param name="qkvBias">Bias on the q and kv projections.</param>
    /// <param name="attnDropRate">Dropout on the attention weights (training only), in [0, 1).</param>
    /// <param name="projDropRate">Dropout after the output projection, in [0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A width is not positive, the heads do not divide D, or a rate is outside [0, 1).</exception>
    public CrossAttention(int dim, int numHeads, int? memoryDim = null, bool qkvBias = true, double attnDropRate = 0.0, double projDropRate = 0.0)
        : base(nameof(CrossAttention))
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "dim must be positive.");
        if (numHeads <= 0 || dim % numHeads != 0)
            throw new ArgumentOutOfRangeException(nameof(numHeads), numHeads, $"numHeads must be a positive divisor of dim = {dim}.");
        int kvIn = memoryDim ?? dim;
        if (kvIn <= 0) throw new ArgumentOutOfRangeException(nameof(memoryDim), memoryDim, "memoryDim must be positive.");
        if (!(attnDropRate >= 0.0 && attnDropRate < 1.0))
            throw new ArgumentOutOfRangeException(nameof(attnDropRate), attnDropRate, "attnDropRate must be in [0, 1).");
        NumHeads = numHeads;
        HeadDim = dim / numHeads;
        MemoryDim = kvIn;
        this.attnDropRate = attnDropRate;
        q = nn.Linear(dim, dim, hasBias: qkvBias);
        kv = nn.Linear(kvIn, 2 * dim, hasBias: qkvBias);
        proj = nn.Linear(dim, dim);
        proj_drop = Layers.Dropout(projDropRate);
        RegisterComponents();
    }

    /// <summary>Number of heads.</summary>
    public int NumHeads { get; }

    /// <summary>Width of one head, D / heads.</summary>
    public int HeadDim { get; }

    /// <summary>Width D_m of the memory tokens.</summary>
    public int MemoryDim { get; }

    /// <summary>Every query attends to every memory token.</summary>
    public override Tensor forward(Tensor x, Tensor memory) => Forward(x, memory, null);

    /// <summary>Cross-attention with an optional memory mask.</summary>
    /// <param name="x">Queries [B, T, D].</param>
    /// <param name="memory">Keys and values [B, N, D_m].</param>
    /// <param name="memoryMask">
    /// Boolean mask broadcastable to [B, heads, T, N] (e.g. [B, 1, 1, N] for padded memory);
    /// <c>true</c> lets a query attend to a memory token. Every query needs one allowed token.
    /// <c>null</c>: no mask.
    /// </param>
    /// <returns>[B, T, D].</returns>
    /// <exception cref="ArgumentException">Wrong ranks, widths or batch sizes.</exception>
    public Tensor Forward(Tensor x, Tensor memory, Tensor? memoryMask)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(memory);
        if (memory.dim() != 3 || memory.shape[2] != MemoryDim || x.dim() != 3 || x.shape[2] != (long)NumHeads * HeadDim || memory.shape[0] != x.shape[0])
        {
            throw new ArgumentException(
                $"CrossAttention expects queries [B, T, {NumHeads * HeadDim}] and memory [B, N, {MemoryDim}]; got [{string.Join(", ", x.shape)}] and [{string.Join(", ", memory.shape)}].");
        }

        using var scope = NewDisposeScope();
        var (keys, values) = MemoryKeysValues(memory);
        return Attend(x, keys, values, memoryMask).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The memory's keys and values [B, heads, N, head_dim], computed once for incremental decoding,
    /// where every step's queries attend to the same memory (<see cref="Forward(Tensor, KeyValueCache, Tensor?)"/>).
    /// The caller owns (and disposes) the cache.
    /// </summary>
    /// <param name="memory">Memory tokens [B, N, D_m].</param>
    /// <exception cref="ArgumentException">The memory is not [B, N, D_m].</exception>
    internal KeyValueCache MemoryCache(Tensor memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        CheckMemory(memory);
        using var scope = NewDisposeScope();
        var (keys, values) = MemoryKeysValues(memory);
        var cache = new KeyValueCache();
        cache.Append(keys, values);
        return cache;
    }

    /// <summary>
    /// Cross-attention to a memory whose keys and values were computed once (<see cref="MemoryCache"/>).
    /// The queries may hold a whole number g of rows per memory row, grouped as
    /// <c>repeat_interleave(g, 0)</c> groups them (query row r reads memory row r / g): the beams of a
    /// sample share its image without repeating the image's keys and values.
    /// </summary>
    /// <param name="x">Queries [B·g, T, D].</param>
    /// <param name="memory">Cached memory keys and values [B, heads, N, head_dim].</param>
    /// <param name="memoryMask">Boolean mask broadcastable to [B, heads, g·T, N]; null for none.</param>
    /// <returns>[B·g, T, D], equal to <see cref="Forward(Tensor, Tensor, Tensor?)"/> on the memory repeated g times.</returns>
    /// <exception cref="ArgumentException">Wrong query shape, an empty cache, or query rows that are not a multiple of the memory rows.</exception>
    internal Tensor Forward(Tensor x, KeyValueCache memory, Tensor? memoryMask)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(memory);
        long d = (long)NumHeads * HeadDim;
        if (memory.Keys is null || memory.Values is null || x.dim() != 3 || x.shape[2] != d
            || memory.Keys.shape[1] != NumHeads || memory.Keys.shape[3] != HeadDim || x.shape[0] % memory.Keys.shape[0] != 0)
        {
            throw new ArgumentException(
                $"CrossAttention expects queries [B·g, T, {d}] and cached memory keys [B, {NumHeads}, N, {HeadDim}]; got [{string.Join(", ", x.shape)}] and [{string.Join(", ", memory.Keys?.shape ?? [])}].");
        }

        using var scope = NewDisposeScope();
        long rows = x.shape[0], t = x.shape[1], b = memory.Keys.shape[0];
        // Queries attend independently, so g rows of T queries are one row of g·T queries.
        var grouped = x.reshape(b, rows / b * t, d);
        return Attend(grouped, memory.Keys, memory.Values, memoryMask).reshape(rows, t, d).MoveToOuterDisposeScope();
    }

    private void CheckMemory(Tensor memory)
    {
        if (memory.dim() != 3 || memory.shape[2] != MemoryDim)
        {
            throw new ArgumentException($"CrossAttention expects memory [B, N, {MemoryDim}]; got [{string.Join(", ", memory.shape)}].", nameof(memory));
        }
    }

    // [B, N, D_m] -> keys, values [B, heads, N, head_dim]
    private (Tensor Keys, Tensor Values) MemoryKeysValues(Tensor memory)
    {
        long b = memory.shape[0], n = memory.shape[1];
        var keyValue = kv.call(memory).reshape(b, n, 2, NumHeads, HeadDim).permute(2, 0, 3, 1, 4).unbind(0);
        return (keyValue[0], keyValue[1]);
    }

    // softmax(QKᵀ/√d_h)V per head for queries [B, T, D], heads concatenated and projected: [B, T, D].
    private Tensor Attend(Tensor x, Tensor keys, Tensor values, Tensor? memoryMask)
    {
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        var query = q.call(x).reshape(b, t, NumHeads, HeadDim).transpose(1, 2);
        var attended = nn.functional.scaled_dot_product_attention(query, keys, values, memoryMask, training ? attnDropRate : 0.0);
        return proj_drop.call(proj.call(attended.transpose(1, 2).reshape(b, t, d)));
    }
}
