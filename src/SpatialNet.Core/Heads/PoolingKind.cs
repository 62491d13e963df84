namespace SpatialNet.Heads;

/// <summary>How a head reduces encoder tokens [B, N, D] to one vector [B, D] per image.</summary>
public enum PoolingKind
{
    /// <summary>The class token (token 0); needs an encoder with a class token. <see cref="ClassTokenPooling"/>.</summary>
    ClassToken,

    /// <summary>Mean over the patch tokens (prefix tokens excluded). <see cref="MeanPooling"/>.</summary>
    Mean,

    /// <summary>A learned query attending over all tokens. <see cref="AttentionPooling"/>.</summary>
    Attention,
}
