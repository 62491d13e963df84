using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace SpatialNet.Training.Imaging;

/// <summary>
/// Bilinear resampling with PyTorch's conventions (half-pixel centres, <c>align_corners = false</c>;
/// antialiasing when shrinking, as torchvision's <c>Resize(antialias=True)</c>). Used both when images
/// are cached at a fixed size and by the batch <see cref="Transforms.Resize"/> transform, so the two agree.
/// </summary>
internal static class ImageResampler
{
    /// <summary>
    /// Resizes a floating-point tensor <c>[C, H, W]</c> or <c>[B, C, H, W]</c> to
    /// <paramref name="height"/>×<paramref name="width"/> on its own device.
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is not 3- or 4-dimensional floating point, or a size is not positive.</exception>
    public static Tensor Resize(Tensor images, int height, int width, bool antialias = true)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (height <= 0 || width <= 0) throw new ArgumentException($"Target size must be positive; got {height}×{width}.");
        if (!images.is_floating_point() || images.dim() is not (3 or 4))
            throw new ArgumentException($"Expected a floating-point tensor [C,H,W] or [B,C,H,W]; got {images.dtype} [{string.Join(", ", images.shape)}].", nameof(images));
        if (images.shape[^2] == height && images.shape[^1] == width) return images.alias();
        using var scope = NewDisposeScope();
        var batched = images.dim() == 3 ? images.unsqueeze(0) : images;
        var resized = interpolate(batched, [height, width], mode: InterpolationMode.Bilinear, align_corners: false, antialias: antialias);
        var result = images.dim() == 3 ? resized.squeeze(0) : resized;
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Resizes an 8- or 16-bit image (bilinear, rounded to the nearest integer and clamped to the sample type's range).</summary>
    public static RasterImage Resize(RasterImage image, int height, int width, bool antialias = true)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Height == height && image.Width == width) return image;
        using var scope = NewDisposeScope();
        using var source = image.ToTensor();
        // float32 holds every 16-bit value exactly.
        var resized = Resize(source.to(ScalarType.Float32), height, width, antialias);
        if (image.Pixels8 is not null)
            return RasterImage.FromTensor(resized.round().clamp(0, 255).to(ScalarType.Byte));
        var words = resized.round().clamp(0, 65535).to(ScalarType.Int32).contiguous().data<int>().ToArray();
        return RasterImage.FromUInt16(Array.ConvertAll(words, v => (ushort)v), image.Channels, height, width);
    }
}
