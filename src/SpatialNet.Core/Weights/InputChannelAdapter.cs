using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Weights;

/// <summary>
/// Adapts a patch-embedding convolution weight [D, N, P, P] trained on N input bands to M bands.
/// </summary>
/// <remarks>
/// The rule extends timm's <c>adapt_input_conv</c> (defined there for N = 3) to any N:
/// <list type="bullet">
/// <item>M = N: unchanged.</item>
/// <item>M = 1: the sum over the N input bands — a single-band image then gives the response the
/// original network gives to that image repeated on every band.</item>
/// <item>otherwise: band j of the new weight is band (j mod N) of the old one (the old bands repeated
/// ⌈M/N⌉ times, the first M kept), all scaled by N/M, so that an image carrying the same values on
/// every band keeps its response exactly when N divides M, and approximately otherwise.</item>
/// </list>
/// For N = 3 this is exactly timm's rule (1 band: sum; M bands: repeat ⌈M/3⌉ times, first M, × 3/M).
/// The computation runs in float32 and the result has the input's dtype.
/// </remarks>
public static class InputChannelAdapter
{
    /// <summary>Returns the weight adapted to <paramref name="targetChannels"/> bands (a new tensor).</summary>
    /// <param name="weight">Convolution weight [out, N, kh, kw].</param>
    /// <param name="targetChannels">Band count M of the model (≥ 1).</param>
    public static Tensor Adapt(Tensor weight, int targetChannels)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.dim() != 4)
            throw new ArgumentException($"A convolution weight must be [out, in, kh, kw]; got [{string.Join(", ", weight.shape)}].", nameof(weight));
        if (targetChannels <= 0)
            throw new ArgumentOutOfRangeException(nameof(targetChannels), targetChannels, "targetChannels must be positive.");
        long sourceChannels = weight.shape[1];
        using var scope = NewDisposeScope();
        var w = weight.detach().to_type(ScalarType.Float32);
        Tensor adapted;
        if (targetChannels == sourceChannels)
            adapted = w.clone();
        else if (targetChannels == 1)
            adapted = w.sum([1L], keepdim: true);
        else
        {
            var index = arange(targetChannels, dtype: ScalarType.Int64, device: w.device).remainder(sourceChannels);
            adapted = w.index_select(1, index) * ((double)sourceChannels / targetChannels);
        }
        return adapted.to_type(weight.dtype).MoveToOuterDisposeScope();
    }
}
