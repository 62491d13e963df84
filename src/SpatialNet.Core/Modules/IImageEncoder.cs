using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// An image encoder that turns a batch of images into a sequence of tokens that task heads consume.
/// <c>VisionTransformer</c> is the standard implementation; a host may register another.
/// </summary>
public interface IImageEncoder
{
    /// <summary>Token width D of <see cref="ForwardFeatures"/>.</summary>
    int EmbedDim { get; }

    /// <summary>Number of leading non-patch tokens (1 with a class token, else 0).</summary>
    int NumPrefixTokens { get; }

    /// <summary>
    /// Encodes images [B, C, H, W] into tokens [B, N, D] (prefix tokens first, then patches in
    /// row-major order) as timm's <c>forward_features</c>: after the final <c>norm</c>, except in
    /// timm's average-pooling layout, where <c>norm</c> is an identity and <c>fc_norm</c> follows the
    /// pooling (see <c>VisionTransformerOptions.FcNorm</c>).
    /// </summary>
    Tensor ForwardFeatures(Tensor images);

    /// <summary>
    /// The tokens task heads read: <see cref="ForwardFeatures"/> with a final normalisation in every
    /// layout (a <c>VisionTransformer</c> with <c>fc_norm</c> applies it to each token, as timm's
    /// <c>forward_head</c> normalises what it pools). Default: <see cref="ForwardFeatures"/>.
    /// </summary>
    Tensor ForwardTokens(Tensor images) => ForwardFeatures(images);

    /// <summary>The encoder as a module (for parameters, <c>train()</c>/<c>eval()</c>, moving to a device).</summary>
    nn.Module AsModule();
}
