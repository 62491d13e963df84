namespace SpatialNet.Training.Imaging;

/// <summary>A single-band mask of class indices (or other integer labels), row-major <c>[H, W]</c>.</summary>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
/// <param name="Values">The H·W values.</param>
internal sealed record LabelMask(int Height, int Width, int[] Values)
{
    /// <summary>
    /// Reads a single-band PNG or TIFF/GeoTIFF (8- or 16-bit) of class indices; a multi-band (RGB or
    /// palette) file is refused, naming the file, since its colours are not indices.
    /// </summary>
    /// <exception cref="SpatialNet.DatasetFileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ImageDecodeException">The file is not a decodable image or has more than one band.</exception>
    public static LabelMask Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new SpatialNet.DatasetFileNotFoundException(path, null, "mask file not found.");
        Span<byte> header = stackalloc byte[8];
        using (var stream = File.OpenRead(path)) header = header[..stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false)];
        if (ImageDecoder.DetectFormat(header) == ImageFileFormat.Tiff) return ReadTiff(path);
        var image = ImageDecoder.Decode(path);
        if (image.Channels != 1) throw NotOneBand(path, image.Channels);
        var values = new int[image.Height * image.Width];
        if (image.Pixels8 is { } p8)
            for (int i = 0; i < values.Length; i++) values[i] = p8[i];
        else
            for (int i = 0; i < values.Length; i++) values[i] = image.Pixels16![i];
        return new LabelMask(image.Height, image.Width, values);
    }

    // Raw samples, not colours: a palette TIFF (as class maps are written) keeps its indices.
    private static LabelMask ReadTiff(string path)
    {
        using var reader = GeoTiffReader.Open(path, paletteIndices: true);
        if (reader.BandCount != 1) throw NotOneBand(path, reader.BandCount);
        if (reader.SampleType is RasterSampleType.Float32 or RasterSampleType.Float64)
            throw new ImageDecodeException(path, "SampleFormat", $"a mask holds integer class indices; this file holds {reader.SampleType} samples.");
        var buffer = new float[(long)reader.Width * reader.Height];
        reader.ReadWindow(0, 0, reader.Width, reader.Height, [0], buffer);
        var values = new int[buffer.Length];
        for (int i = 0; i < values.Length; i++) values[i] = (int)buffer[i];
        return new LabelMask(reader.Height, reader.Width, values);
    }

    private static ImageDecodeException NotOneBand(string path, int bands) =>
        new(path, "bands",
            $"a mask must be one band of class indices; this file has {bands} bands (an RGB or palette-coloured mask). " +
            "Write the class index of each pixel as a grey (single-band) PNG or a single-band GeoTIFF.");

    /// <summary>
    /// Refuses a value that is neither a class in [0, <paramref name="numClasses"/>) nor <paramref name="ignoreIndex"/>,
    /// naming the file, the value and the first pixel (x, y) that holds it.
    /// </summary>
    /// <exception cref="SpatialNet.DatasetFormatException">A value is out of range.</exception>
    public void CheckClasses(string path, int numClasses, int ignoreIndex, bool reduceZeroLabel = false)
    {
        for (int i = 0; i < Values.Length; i++)
        {
            int v = Values[i];
            if (v == ignoreIndex) continue;
            int c = reduceZeroLabel ? (v == 0 ? ignoreIndex : v - 1) : v;
            if (c == ignoreIndex || (uint)c < (uint)numClasses) continue;
            throw new SpatialNet.DatasetFormatException(path, "pixels",
                $"mask value {v} at (x={i % Width}, y={i / Width}) is neither a class index in [{(reduceZeroLabel ? 1 : 0)}, {numClasses + (reduceZeroLabel ? 1 : 0)}) " +
                $"nor the ignore value {ignoreIndex}{(reduceZeroLabel ? " (with reduce_zero_label, 0 is ignored and 1 is the first class)" : "")}.");
        }
    }
}
