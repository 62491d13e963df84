using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Masks and masked reductions for padded token sequences. Boolean masks follow PyTorch's
/// <c>scaled_dot_product_attention</c>: <c>true</c> means "may attend" / "is a real token".
/// </summary>
internal static class TextMasks
{
    /// <summary>Which positions of <paramref name="ids"/> [B, L] are real tokens (not <paramref name="padId"/>): bool [B, L].</summary>
    public static Tensor Valid(Tensor ids, long padId)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return ids.ne(padId);
    }

    /// <summary>
    /// A key-padding attention mask [B, 1, 1, L] from <paramref name="valid"/> [B, L]: queries may
    /// attend only to real tokens. A sequence with no real token may attend to every position
    /// (its outputs are meaningless but finite, instead of the NaN a fully masked row gives).
    /// </summary>
    public static Tensor KeyPadding(Tensor valid)
    {
        ArgumentNullException.ThrowIfNull(valid);
        using var scope = NewDisposeScope();
        var empty = valid.any(1, keepdim: true).logical_not();
        return valid.logical_or(empty).unsqueeze(1).unsqueeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>A causal mask [L, L]: position i may attend to positions 0..i (lower triangle, diagonal included).</summary>
    public static Tensor Causal(long length, Device? device = null)
    {
        using var scope = NewDisposeScope();
        return ones(length, length, dtype: @bool, device: device).tril().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean of <paramref name="tokens"/> [B, L, D] over the real positions of <paramref name="valid"/>
    /// [B, L]: [B, D]. A sequence with no real token gives zeros.
    /// </summary>
    public static Tensor MaskedMean(Tensor tokens, Tensor valid)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(valid);
        using var scope = NewDisposeScope();
        var weights = valid.to(tokens.dtype).unsqueeze(-1);                 // [B, L, 1]
        var sum = (tokens * weights).sum(1);                                // [B, D]
        var count = weights.sum(1).clamp_min(1.0);                          // [B, 1]
        return (sum / count).MoveToOuterDisposeScope();
    }
}
