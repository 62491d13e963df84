using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Heads;

/// <summary>
/// Reduces encoder tokens [B, N, D] to one vector [B, D] per image. Each head owns its pooling, so
/// one task can read the class token while another attends over the patches.
/// </summary>
public abstract class TokenPooling : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the pooling and remembers the token layout it expects.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="layout">Token width and prefix count of the encoder.</param>
    protected TokenPooling(string name, TokenLayout layout) : base(name)
    {
        layout.Validate();
        Layout = layout;
    }

    /// <summary>Token layout this pooling was built for.</summary>
    public TokenLayout Layout { get; }

    /// <summary>Which pooling this is.</summary>
    public abstract PoolingKind Kind { get; }

    /// <summary>
    /// Creates the pooling of <paramref name="kind"/> for tokens of <paramref name="layout"/>.
    /// </summary>
    /// <param name="kind">Pooling to build.</param>
    /// <param name="layout">Token width and prefix count of the encoder.</param>
    /// <param name="attentionHeads">Heads of <see cref="AttentionPooling"/>; must divide D. Ignored by the others.</param>
    /// <exception cref="ArgumentException">The layout does not admit <paramref name="kind"/>.</exception>
    public static TokenPooling Create(PoolingKind kind, TokenLayout layout, int attentionHeads = 1) => kind switch
    {
        PoolingKind.ClassToken => new ClassTokenPooling(layout),
        PoolingKind.Mean => new MeanPooling(layout),
        PoolingKind.Attention => new AttentionPooling(layout, attentionHeads),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Allowed poolings: ClassToken, Mean, Attention."),
    };

    /// <summary>Throws unless <paramref name="tokens"/> is [B, N, D] with the layout's D and N above the prefix count.</summary>
    protected void CheckTokens(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.dim() != 3 || tokens.shape[2] != Layout.EmbedDim || tokens.shape[1] <= Layout.NumPrefixTokens)
        {
            throw new ArgumentException(
                $"{GetType().Name} expects tokens [B, N, {Layout.EmbedDim}] with N > {Layout.NumPrefixTokens} prefix tokens; got [{string.Join(", ", tokens.shape)}].",
                nameof(tokens));
        }
    }
}
