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
    /// row-major order), after the final norm. (With timm's average-pooling layout the normalisation
    /// is <c>fc_norm</c> after pooling instead, so the tokens are those of the last block; see
    /// <c>VisionTransformerOptions.FcNorm</c>.)
    /// </summary>
    Tensor ForwardFeatures(Tensor images);

    /// <summary>The encoder as a module (for parameters, <c>train()</c>/<c>eval()</c>, moving to a device).</summary>
    nn.Module AsModule();
}
