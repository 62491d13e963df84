using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// A learned query attends over all tokens (prefix and patches) with multi-head scaled dot-product
/// attention, so a head learns which locations matter for its task (the idea of timm's
/// <c>AttentionPoolLatent</c>, here with one latent query and no MLP).
/// </summary>
/// <remarks>
/// pooled = proj(Attention(q(latent), k(x), v(x))), with k and v from one fused <c>kv</c> projection.
/// Parameters: <c>latent</c> [1, 1, D], <c>q</c>, <c>kv</c>, <c>proj</c>.
/// </remarks>
public sealed class AttentionPooling : TokenPooling, IHasNoWeightDecay
{
    private readonly Parameter latent;
    private readonly Linear q;
    private readonly Linear kv;
    private readonly Linear proj;
    private readonly int numHeads;

    /// <summary>Creates attention pooling with <paramref name="numHeads"/> heads.</summary>
    /// <param name="layout">Token width and prefix count of the encoder.</param>
    /// <param name="numHeads">Attention heads; must be positive and divide D.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numHeads"/> is not a positive divisor of D.</exception>
    public AttentionPooling(TokenLayout layout, int numHeads = 1)
        : base(nameof(AttentionPooling), RequireHeadsDivideWidth(layout, numHeads))
    {
        this.numHeads = numHeads;
        int d = layout.EmbedDim;
        // Initialised like the encoder (timm): truncated normal, std 0.02; zero biases.
        latent = nn.Parameter(TimmInit.TruncNormal_(empty(1, 1, d), std: 0.02));
        q = nn.Linear(d, d);
        kv = nn.Linear(d, 2 * d);
        proj = nn.Linear(d, d);
        TimmInit.Linear(q);
        TimmInit.Linear(kv);
        TimmInit.Linear(proj);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override PoolingKind Kind => PoolingKind.Attention;

    /// <summary>Number of attention heads.</summary>
    public int NumHeads => numHeads;

    /// <summary>The learned query <c>latent</c> is not decayed (like a class token).</summary>
    public IReadOnlyCollection<string> NoWeightDecay() => ["latent"];

    // Checked before the base constructor so a rejected configuration allocates no native module.
    private static TokenLayout RequireHeadsDivideWidth(TokenLayout layout, int numHeads) =>
        numHeads > 0 && layout.EmbedDim > 0 && layout.EmbedDim % numHeads == 0
            ? layout
            : throw new ArgumentOutOfRangeException(
                nameof(numHeads), numHeads,
                $"Attention pooling heads must be a positive divisor of the token width D = {layout.EmbedDim}.");

    /// <summary>Tokens [B, N, D] → attention-weighted summary [B, D].</summary>
    public override Tensor forward(Tensor tokens)
    {
        CheckTokens(tokens);
        using var scope = NewDisposeScope();
        long b = tokens.shape[0], n = tokens.shape[1], d = tokens.shape[2];
        long hd = d / numHeads;

        // [1,1,D] -> [B, H, 1, hd]
        var query = q.call(latent).expand(b, 1, d).reshape(b, 1, numHeads, hd).transpose(1, 2);
        // [B,N,2D] -> [2, B, H, N, hd]
        var keyValue = kv.call(tokens).reshape(b, n, 2, numHeads, hd).permute(2, 0, 3, 1, 4);
        var attended = nn.functional.scaled_dot_product_attention(query, keyValue[0], keyValue[1]);
        var pooled = proj.call(attended.transpose(1, 2).reshape(b, d));
        return pooled.MoveToOuterDisposeScope();
    }
}
