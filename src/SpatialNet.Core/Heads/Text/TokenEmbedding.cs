using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Text tokens to vectors: a token embedding plus a learned position embedding (as GPT and BERT; a
/// caption or question is short, so a table of <see cref="MaxLength"/> positions suffices).
/// Ids [B, L] (int64) → [B, L, D].
/// </summary>
/// <remarks>
/// State-dict names: <c>token_embed.weight</c> [V, D], <c>pos_embed</c> [1, L_max, D]; both
/// initialised trunc-normal (std 0.02), like the ViT's position embedding.
/// </remarks>
public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>, IHasNoWeightDecay
{
    private readonly Embedding token_embed;
    private readonly Parameter pos_embed;
    private readonly nn.Module<Tensor, Tensor> pos_drop;

    /// <summary>Creates the embedding.</summary>
    /// <param name="vocabSize">Vocabulary size V (ids 0..V−1).</param>
    /// <param name="maxLength">Longest sequence L_max.</param>
    /// <param name="dim">Width D.</param>
    /// <param name="dropRate">Dropout after adding positions, in [0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the rate is outside [0, 1).</exception>
    public TokenEmbedding(int vocabSize, int maxLength, int dim, double dropRate = 0.0) : base(nameof(TokenEmbedding))
    {
        if (vocabSize <= 0) throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "vocabSize must be positive.");
        if (maxLength <= 0) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "maxLength must be positive.");
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "dim must be positive.");
        if (!(dropRate >= 0.0 && dropRate < 1.0)) throw new ArgumentOutOfRangeException(nameof(dropRate), dropRate, "dropRate must be in [0, 1).");
        VocabSize = vocabSize;
        MaxLength = maxLength;
        EmbedDim = dim;
        token_embed = nn.Embedding(vocabSize, dim);
        pos_embed = nn.Parameter(zeros(1, maxLength, dim));
        pos_drop = dropRate > 0 ? nn.Dropout(dropRate) : nn.Identity();
        TimmInit.TruncNormal_(token_embed.weight!, 0.0, 0.02);
        TimmInit.TruncNormal_(pos_embed, 0.0, 0.02);
        RegisterComponents();
    }

    /// <summary>The position table <c>pos_embed</c> is not decayed (as the ViT's).</summary>
    public IReadOnlyCollection<string> NoWeightDecay() => ["pos_embed"];

    /// <summary>Vocabulary size V.</summary>
    public int VocabSize { get; }

    /// <summary>Longest sequence the position table covers.</summary>
    public int MaxLength { get; }

    /// <summary>Width D.</summary>
    public int EmbedDim { get; }

    /// <summary>The token embedding matrix [V, D] (shared with a tied output projection).</summary>
    public Parameter TokenWeight => token_embed.weight!;

    /// <summary>Ids [B, L] → token plus position vectors [B, L, D].</summary>
    /// <exception cref="ArgumentException">Not [B, L] int64, L above <see cref="MaxLength"/>, or an id outside [0, V).</exception>
    public override Tensor forward(Tensor ids) => Forward(ids, 0);

    /// <summary>
    /// Ids [B, L] at positions <paramref name="offset"/> … <paramref name="offset"/> + L − 1 → token
    /// plus position vectors [B, L, D]: the tokens that continue a sequence of <paramref name="offset"/>
    /// earlier tokens (incremental decoding).
    /// </summary>
    /// <param name="ids">Token ids [B, L] (int64).</param>
    /// <param name="offset">Position of the first id; ≥ 0.</param>
    /// <exception cref="ArgumentException">Not [B, L] int64, positions beyond <see cref="MaxLength"/>, or an id outside [0, V).</exception>
    public Tensor Forward(Tensor ids, long offset) => Forward(ids, offset, checkIds: true);

    /// <summary>
    /// <see cref="Forward(Tensor, long)"/>; <paramref name="checkIds"/> false skips the id range check
    /// (one device read-back) for ids that are known to be valid, such as a decoder's own picks.
    /// </summary>
    internal Tensor Forward(Tensor ids, long offset, bool checkIds)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.dim() != 2 || ids.dtype != int64)
        {
            throw new ArgumentException($"Token ids must be [B, L] int64; got [{string.Join(", ", ids.shape)}] {ids.dtype}.", nameof(ids));
        }

        if (offset < 0 || ids.shape[1] == 0 || offset + ids.shape[1] > MaxLength)
        {
            throw new ArgumentException(offset == 0
                ? $"Token sequences of length {ids.shape[1]} are not allowed; allowed: 1 to {MaxLength} (the position table's length)."
                : $"Tokens at positions {offset} to {offset + ids.shape[1] - 1} are not allowed; allowed: positions 0 to {MaxLength - 1} (the position table's length).", nameof(ids));
        }

        using var scope = NewDisposeScope();
        if (checkIds && ids.numel() > 0)
        {
            // The native embedding lookup fails with an unhelpful message; name the problem here.
            // Both extremes in one device-to-host copy (one synchronisation on a GPU).
            var range = stack([ids.min(), ids.max()]).to(int64).cpu().data<long>().ToArray();
            long lo = range[0], hi = range[1];
            if (lo < 0 || hi >= VocabSize)
            {
                throw new ArgumentException($"Token ids must lie in [0, {VocabSize}); got ids from {lo} to {hi}.", nameof(ids));
            }
        }

        var x = token_embed.call(ids) + pos_embed.narrow(1, offset, ids.shape[1]);
        return pos_drop.call(x).MoveToOuterDisposeScope();
    }
}
