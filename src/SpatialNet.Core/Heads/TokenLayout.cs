using SpatialNet.Modules;

namespace SpatialNet.Heads;

/// <summary>
/// The shape contract between an encoder and its heads: tokens are [B, N, D] with
/// <see cref="NumPrefixTokens"/> leading non-patch tokens (the class token) followed by patch tokens.
/// </summary>
/// <param name="EmbedDim">Token width D.</param>
/// <param name="NumPrefixTokens">Leading non-patch tokens (1 with a class token, else 0).</param>
public readonly record struct TokenLayout(int EmbedDim, int NumPrefixTokens)
{
    /// <summary>The layout of the tokens <paramref name="encoder"/> produces.</summary>
    public static TokenLayout Of(IImageEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        return new TokenLayout(encoder.EmbedDim, encoder.NumPrefixTokens);
    }

    /// <summary>Throws if D or the prefix count cannot describe a token sequence.</summary>
    /// <exception cref="ArgumentOutOfRangeException">D not positive or a negative prefix count.</exception>
    public void Validate()
    {
        if (EmbedDim <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(EmbedDim), EmbedDim, "TokenLayout.EmbedDim must be a positive token width D.");
        }

        if (NumPrefixTokens < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(NumPrefixTokens), NumPrefixTokens, "TokenLayout.NumPrefixTokens must be 0 or more.");
        }
    }
}
