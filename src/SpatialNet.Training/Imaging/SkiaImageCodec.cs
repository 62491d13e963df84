using SkiaSharp;

namespace SpatialNet.Training.Imaging;

/// <summary>
/// Decodes PNG and JPEG through SkiaSharp (which TorchSharp already depends on). Colour images become
/// 3 bands (RGB, alpha dropped and not premultiplied), grey images 1 band, always 8-bit. Errors become
/// <see cref="ImageDecodeException"/> naming the file.
/// </summary>
internal static class SkiaImageCodec
{
    /// <summary>Decodes PNG or JPEG bytes; <paramref name="name"/> is used in error messages.</summary>
    /// <exception cref="ImageDecodeException">The bytes are not a decodable PNG or JPEG.</exception>
    public static RasterImage Read(byte[] data, string name)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var skData = SKData.CreateCopy(data);
        using var codec = SKCodec.Create(skData)
            ?? throw new ImageDecodeException(name, "header", "not a PNG or JPEG that SkiaSharp can open.");
        var info = codec.Info;
        var grey = info.ColorType == SKColorType.Gray8;
        var target = new SKImageInfo(info.Width, info.Height, grey ? SKColorType.Gray8 : SKColorType.Rgba8888,
            grey ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(target);
        var result = codec.GetPixels(target, bitmap.GetPixels());
        // IncompleteInput: a truncated file; Skia fills the rest, which would silently corrupt training data.
        if (result != SKCodecResult.Success)
            throw new ImageDecodeException(name, "pixels", $"decoding failed: {result}.");
        var source = bitmap.GetPixelSpan();
        int h = info.Height, w = info.Width, plane = h * w;
        var rowBytes = bitmap.RowBytes;
        if (grey)
        {
            var pixels = new byte[plane];
            for (var y = 0; y < h; y++) source.Slice(y * rowBytes, w).CopyTo(pixels.AsSpan(y * w, w));
            return RasterImage.FromBytes(pixels, 1, h, w);
        }
        var rgb = new byte[3 * plane];
        for (var y = 0; y < h; y++)
        {
            var row = source.Slice(y * rowBytes, 4 * w);
            for (var x = 0; x < w; x++)
            {
                var i = y * w + x;
                rgb[i] = row[4 * x];
                rgb[plane + i] = row[4 * x + 1];
                rgb[2 * plane + i] = row[4 * x + 2];
            }
        }
        return RasterImage.FromBytes(rgb, 3, h, w);
    }

    /// <summary>Encodes an 8-bit image with 1 (grey) or 3 (RGB) bands as PNG.</summary>
    /// <exception cref="ArgumentException">The image is 16-bit or has another band count.</exception>
    public static byte[] EncodePng(RasterImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Pixels8 is null || (image.Channels != 1 && image.Channels != 3))
            throw new ArgumentException($"PNG encoding needs an 8-bit image with 1 or 3 bands; got {image.BitsPerSample}-bit, {image.Channels} bands.", nameof(image));
        int h = image.Height, w = image.Width, plane = h * w;
        var grey = image.Channels == 1;
        var info = new SKImageInfo(w, h, grey ? SKColorType.Gray8 : SKColorType.Rgba8888, grey ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var rowBytes = bitmap.RowBytes;
        var target = new byte[rowBytes * h];
        var p = image.Pixels8;
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var i = y * w + x;
                if (grey) { target[y * rowBytes + x] = p[i]; continue; }
                var o = y * rowBytes + 4 * x;
                target[o] = p[i];
                target[o + 1] = p[plane + i];
                target[o + 2] = p[2 * plane + i];
                target[o + 3] = 255;
            }
        System.Runtime.InteropServices.Marshal.Copy(target, 0, bitmap.GetPixels(), target.Length);
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return encoded.ToArray();
    }
}
