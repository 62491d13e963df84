using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Mean over the patch tokens, prefix tokens excluded (timm's <c>global_pool='avg'</c>): every
/// location counts equally, which suits counting and land-cover tasks spread over the scene.
/// </summary>
public sealed class MeanPooling : TokenPooling
{
    /// <summary>Creates mean pooling over patch tokens.</summary>
    public MeanPooling(TokenLayout layout) : base(nameof(MeanPooling), layout)
    {
        RegisterComponents();
    }

    /// <inheritdoc />
    public override PoolingKind Kind => PoolingKind.Mean;

    /// <summary>Tokens [B, N, D] → mean of tokens P..N-1 [B, D] (P = prefix count).</summary>
    public override Tensor forward(Tensor tokens)
    {
        CheckTokens(tokens);
        using var scope = NewDisposeScope();
        var patches = tokens.narrow(1, Layout.NumPrefixTokens, tokens.shape[1] - Layout.NumPrefixTokens);
        return patches.mean([1]).MoveToOuterDisposeScope();
    }
}
