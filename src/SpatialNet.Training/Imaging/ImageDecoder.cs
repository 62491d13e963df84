namespace SpatialNet.Training.Imaging;

/// <summary>Container formats <see cref="ImageDecoder"/> recognises.</summary>
public enum ImageFileFormat
{
    /// <summary>Not recognised.</summary>
    Unknown,

    /// <summary>TIFF / GeoTIFF (little- or big-endian, classic; BigTIFF too).</summary>
    Tiff,

    /// <summary>PNG.</summary>
    Png,

    /// <summary>JPEG / JFIF.</summary>
    Jpeg,
}

/// <summary>
/// Decodes an image file by its content (magic bytes), not its extension: TIFF through
/// <see cref="TiffImageCodec"/>, PNG and JPEG through <see cref="SkiaImageCodec"/>.
/// </summary>
public static class ImageDecoder
{
    /// <summary>File extensions of the formats decoded here (lower case, with the dot).</summary>
    public static IReadOnlyList<string> KnownExtensions { get; } = [".tif", ".tiff", ".png", ".jpg", ".jpeg"];

    /// <summary>Decodes an image file.</summary>
    /// <exception cref="SpatialNet.DatasetFileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ImageDecodeException">The file is empty, of an unknown format, corrupt or unsupported.</exception>
    public static RasterImage Decode(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new SpatialNet.DatasetFileNotFoundException(path, null, "image file not found.");
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes image bytes; <paramref name="name"/> (usually the path) is used in error messages.</summary>
    /// <exception cref="ImageDecodeException">The bytes are empty, of an unknown format, corrupt or unsupported.</exception>
    public static RasterImage Decode(byte[] data, string name)
    {
        ArgumentNullException.ThrowIfNull(data);
        return DetectFormat(data) switch
        {
            ImageFileFormat.Tiff => TiffImageCodec.Read(data, name),
            ImageFileFormat.Png or ImageFileFormat.Jpeg => SkiaImageCodec.Read(data, name),
            _ => throw new ImageDecodeException(name, "header",
                data.Length == 0 ? "the file is empty." : "unknown image format; supported: TIFF, PNG, JPEG (recognised by their leading bytes)."),
        };
    }

    /// <summary>Recognises a format from the first bytes of a file.</summary>
    public static ImageFileFormat DetectFormat(ReadOnlySpan<byte> header)
    {
        if (header.Length >= 4 && ((header[0] == (byte)'I' && header[1] == (byte)'I' && header[2] is 42 or 43 && header[3] == 0)
            || (header[0] == (byte)'M' && header[1] == (byte)'M' && header[2] == 0 && header[3] is 42 or 43)))
            return ImageFileFormat.Tiff;
        if (header.Length >= 8 && header[..8].SequenceEqual((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            return ImageFileFormat.Png;
        if (header.Length >= 3 && header[0] == 0xFF && header[1] == 0xD8 && header[2] == 0xFF)
            return ImageFileFormat.Jpeg;
        return ImageFileFormat.Unknown;
    }
}
