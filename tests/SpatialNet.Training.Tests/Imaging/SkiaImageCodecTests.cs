using FluentAssertions;
using SkiaSharp;
using SpatialNet.Training.Imaging;
using Xunit;

namespace SpatialNet.Training.Tests.Imaging;

public sealed class SkiaImageCodecTests
{
    private static byte[] EncodeWithSkia(int width, int height, Func<int, int, SKColor> color, SKEncodedImageFormat format, int quality = 100)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                bitmap.SetPixel(x, y, color(x, y));
        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    [Fact]
    public void Png_decodes_to_exact_rgb_planes()
    {
        var png = EncodeWithSkia(5, 3, (x, y) => new SKColor((byte)(x * 50), (byte)(y * 100), (byte)(x + y)), SKEncodedImageFormat.Png);
        ImageDecoder.DetectFormat(png).Should().Be(ImageFileFormat.Png);

        var image = ImageDecoder.Decode(png, "test.png");

        image.Channels.Should().Be(3);
        (image.Height, image.Width).Should().Be((3, 5));
        image[0, 2, 4].Should().Be(200);
        image[1, 2, 4].Should().Be(200);
        image[2, 2, 4].Should().Be(6);
        image[1, 1, 0].Should().Be(100);
    }

    [Fact]
    public void Png_with_alpha_keeps_unpremultiplied_colour()
    {
        var png = EncodeWithSkia(1, 1, (_, _) => new SKColor(200, 100, 50, 128), SKEncodedImageFormat.Png);

        var image = SkiaImageCodec.Read(png, "alpha.png");

        image.Pixels8.Should().Equal(200, 100, 50);
    }

    [Fact]
    public void Png_roundtrip_through_our_encoder_is_lossless_for_rgb_and_grey()
    {
        var rgb = RasterImage.FromBytes(Enumerable.Range(0, 3 * 4 * 6).Select(i => (byte)(i * 5)).ToArray(), 3, 4, 6);
        SkiaImageCodec.Read(SkiaImageCodec.EncodePng(rgb), "rgb.png").Pixels8.Should().Equal(rgb.Pixels8);

        var grey = RasterImage.FromBytes(Enumerable.Range(0, 12).Select(i => (byte)(i * 20)).ToArray(), 1, 3, 4);
        var decoded = SkiaImageCodec.Read(SkiaImageCodec.EncodePng(grey), "grey.png");
        decoded.Channels.Should().Be(1);
        decoded.Pixels8.Should().Equal(grey.Pixels8);
    }

    [Fact]
    public void Jpeg_decodes_flat_colours_within_compression_error()
    {
        // Two flat 8×8-aligned halves: JPEG reproduces flat blocks almost exactly at quality 100.
        var jpeg = EncodeWithSkia(16, 8, (x, _) => x < 8 ? new SKColor(200, 40, 40) : new SKColor(30, 90, 200), SKEncodedImageFormat.Jpeg);
        ImageDecoder.DetectFormat(jpeg).Should().Be(ImageFileFormat.Jpeg);

        var image = ImageDecoder.Decode(jpeg, "test.jpg");

        image.Channels.Should().Be(3);
        image[0, 4, 2].Should().BeCloseTo(200, 4);
        image[1, 4, 2].Should().BeCloseTo(40, 4);
        image[2, 4, 13].Should().BeCloseTo(200, 4);
        image[0, 4, 13].Should().BeCloseTo(30, 4);
    }

    [Fact]
    public void Truncated_png_is_a_decode_error_naming_the_file()
    {
        var png = EncodeWithSkia(32, 32, (x, y) => new SKColor((byte)x, (byte)y, 7), SKEncodedImageFormat.Png);

        var act = () => ImageDecoder.Decode(png[..(png.Length / 2)], "half.png");

        act.Should().Throw<ImageDecodeException>().Which.Message.Should().Contain("half.png");
    }

    [Fact]
    public void Unknown_formats_are_rejected_by_content()
    {
        var act = () => ImageDecoder.Decode("GIF89a-not-supported"u8.ToArray(), "x.tif");

        act.Should().Throw<ImageDecodeException>().Which.Field.Should().Be("header");
    }
}
