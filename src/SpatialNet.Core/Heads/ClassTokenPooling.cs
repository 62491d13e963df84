using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>Takes the class token (token 0), as the original ViT and timm's <c>global_pool='token'</c>.</summary>
public sealed class ClassTokenPooling : TokenPooling
{
    /// <summary>Creates class-token pooling.</summary>
    /// <exception cref="ArgumentException">The encoder has no prefix (class) token.</exception>
    public ClassTokenPooling(TokenLayout layout) : base(nameof(ClassTokenPooling), RequireClassToken(layout))
    {
        RegisterComponents();
    }

    /// <inheritdoc />
    public override PoolingKind Kind => PoolingKind.ClassToken;

    // Checked before the base constructor so a rejected layout allocates no native module.
    private static TokenLayout RequireClassToken(TokenLayout layout) => layout.NumPrefixTokens >= 1
        ? layout
        : throw new ArgumentException(
            "PoolingKind.ClassToken needs an encoder with a class token (TokenLayout.NumPrefixTokens >= 1, i.e. VisionTransformerOptions.ClassToken = true); allowed without one: Mean, Attention.",
            nameof(layout));

    /// <summary>Tokens [B, N, D] → class token [B, D].</summary>
    public override Tensor forward(Tensor tokens)
    {
        CheckTokens(tokens);
        return tokens.select(1, 0);
    }
}
