using System.Numerics;
using System.Runtime.InteropServices;
using BitMiracle.LibTiff.Classic;

namespace SpatialNet.Training.Imaging;

/// <summary>Sample types a <see cref="GeoTiffReader"/> reads.</summary>
public enum RasterSampleType
{
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8,
    /// <summary>Signed 8-bit integer.</summary>
    Int8,
    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16,
    /// <summary>Signed 16-bit integer.</summary>
    Int16,
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32,
    /// <summary>Signed 32-bit integer.</summary>
    Int32,
    /// <summary>IEEE 32-bit float.</summary>
    Float32,
    /// <summary>IEEE 64-bit float.</summary>
    Float64,
}

/// <summary>
/// Windowed reads from a (Geo)TIFF scene as satellite products ship it: 8/16/32-bit integer or
/// 32/64-bit float samples, any number of bands, strips or tiles, pixel- or band-interleaved, any
/// compression LibTiff decodes (LZW, Deflate, PackBits, …). A read decodes only the strips or tiles
/// the window touches; decoded blocks are cached up to <see cref="CacheBytes"/>. The georeferencing
/// tags are read into <see cref="GeoReference"/>. Not thread-safe: one reader per thread.
/// </summary>
public sealed class GeoTiffReader : IDisposable
{
    private readonly Tiff _tif;
    private readonly TiffBlockReader _blocks;
    private readonly int _bytesPerSample;
    private byte[] _raw = [];

    private GeoTiffReader(Tiff tif, string path, bool paletteIndices)
    {
        _tif = tif;
        Path = path;
        Width = Required(TiffTag.IMAGEWIDTH);
        Height = Required(TiffTag.IMAGELENGTH);
        if (Width <= 0 || Height <= 0) throw TiffImageCodec.Fail(path, "ImageWidth", $"image size {Width}×{Height} is not positive");
        BandCount = Defaulted(TiffTag.SAMPLESPERPIXEL, 1);
        if (BandCount <= 0) throw TiffImageCodec.Fail(path, "SamplesPerPixel", $"{BandCount} bands; at least one is needed");
        var bits = Defaulted(TiffTag.BITSPERSAMPLE, 1);
        var format = (SampleFormat)Defaulted(TiffTag.SAMPLEFORMAT, (int)SampleFormat.UINT);
        SampleType = (bits, format) switch
        {
            (8, SampleFormat.UINT) => RasterSampleType.UInt8,
            (8, SampleFormat.INT) => RasterSampleType.Int8,
            (16, SampleFormat.UINT) => RasterSampleType.UInt16,
            (16, SampleFormat.INT) => RasterSampleType.Int16,
            (32, SampleFormat.UINT) => RasterSampleType.UInt32,
            (32, SampleFormat.INT) => RasterSampleType.Int32,
            (32, SampleFormat.IEEEFP) => RasterSampleType.Float32,
            (64, SampleFormat.IEEEFP) => RasterSampleType.Float64,
            _ => throw TiffImageCodec.Fail(path, bits is 8 or 16 or 32 or 64 ? "SampleFormat" : "BitsPerSample",
                $"{bits}-bit {format} samples are not supported; allowed: 8/16/32-bit integer, 32/64-bit float"),
        };
        var photometric = (Photometric)Defaulted(TiffTag.PHOTOMETRIC, (int)Photometric.MINISBLACK);
        if ((photometric == Photometric.PALETTE && !paletteIndices) || photometric is Photometric.YCBCR or Photometric.MINISWHITE)
            throw TiffImageCodec.Fail(path, "PhotometricInterpretation", $"{photometric} scenes are not supported; allowed: MinIsBlack, RGB, Separated");
        _bytesPerSample = bits / 8;
        Planar = (PlanarConfig)Defaulted(TiffTag.PLANARCONFIG, (int)PlanarConfig.CONTIG) == PlanarConfig.SEPARATE;
        Compression = (Compression)Defaulted(TiffTag.COMPRESSION, (int)Compression.NONE);
        Georeference = GeoReference.Read(tif);
        _blocks = new TiffBlockReader(tif, path, Width, Height, BandCount, _bytesPerSample, Planar ? PlanarConfig.SEPARATE : PlanarConfig.CONTIG);
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Number of bands (samples per pixel).</summary>
    public int BandCount { get; }

    /// <summary>Sample type of every band.</summary>
    public RasterSampleType SampleType { get; }

    /// <summary>Band-interleaved (PlanarConfiguration = 2).</summary>
    public bool Planar { get; }

    /// <summary>Compression scheme.</summary>
    public Compression Compression { get; }

    /// <summary>True for a tiled file, false for strips.</summary>
    public bool IsTiled => _blocks.Tiled;

    /// <summary>Tile size, or (width, rows per strip).</summary>
    public (int Width, int Height) BlockSize => (_blocks.BlockWidth, _blocks.BlockHeight);

    /// <summary>Bytes of one decoded block (all bands of a contiguous file, one band of a planar one).</summary>
    public long BlockBytes => _blocks.BlockBytes;

    /// <summary>The georeferencing tags, or null for a plain TIFF.</summary>
    public GeoReference? Georeference { get; }

    /// <summary>GDAL's no-data value, or null.</summary>
    public double? NoData => Georeference?.NoData;

    /// <summary>Most bytes of decoded strips/tiles kept between reads (default 0: none).</summary>
    public long CacheBytes { get => _blocks.CacheBytes; set => _blocks.CacheBytes = Math.Max(0, value); }

    /// <summary>Opens a scene; the file stays open until <see cref="Dispose"/>.</summary>
    /// <exception cref="SpatialNet.DatasetFileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ImageDecodeException">Not a readable TIFF, or an unsupported sample type or layout.</exception>
    public static GeoTiffReader Open(string path) => Open(path, paletteIndices: false);

    /// <summary>Opens a scene; with <paramref name="paletteIndices"/> a palette image is read as its indices (class maps, masks).</summary>
    internal static GeoTiffReader Open(string path, bool paletteIndices)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new SpatialNet.DatasetFileNotFoundException(path, null, "scene file not found.");
        return TiffImageCodec.Capture(path, () =>
        {
            var tif = Tiff.Open(path, "r") ?? throw TiffImageCodec.Fail(path, "header", "not a readable TIFF file");
            try
            {
                return new GeoTiffReader(tif, path, paletteIndices);
            }
            catch
            {
                tif.Dispose();
                throw;
            }
        });
    }

    /// <summary>
    /// Reads bands <paramref name="bands"/> (zero-based, in that order) of the window at column
    /// <paramref name="x"/>, row <paramref name="y"/> into <paramref name="destination"/> as
    /// <c>[bands, height, width]</c> floats (values as stored, no scaling).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The window is not inside the image, a band does not exist, or the destination is too small.</exception>
    /// <exception cref="ImageDecodeException">A strip or tile the window needs is truncated or corrupt.</exception>
    public void ReadWindow(int x, int y, int width, int height, ReadOnlySpan<int> bands, Span<float> destination)
    {
        if (x < 0 || y < 0 || width <= 0 || height <= 0 || x + width > Width || y + height > Height)
            throw new ArgumentOutOfRangeException(nameof(x), $"Window x {x}, y {y}, {width}×{height} is not inside the {Width}×{Height} scene {Path}.");
        foreach (var band in bands)
            if (band < 0 || band >= BandCount)
                throw new ArgumentOutOfRangeException(nameof(bands), $"Band {band} (zero-based) does not exist in {Path}, which has {BandCount} bands.");
        var plane = width * height;
        if (destination.Length < bands.Length * plane)
            throw new ArgumentOutOfRangeException(nameof(destination), $"Destination holds {destination.Length} floats; {bands.Length}·{height}·{width} are needed.");

        var pixelBytes = _blocks.PixelBytes;
        var needed = (long)plane * pixelBytes;
        if (_raw.Length < needed) _raw = new byte[needed];
        if (Planar)
        {
            for (var i = 0; i < bands.Length; i++)
            {
                ReadRaw(bands[i], x, y, width, height);
                Convert(_raw, 0, 1, plane, destination.Slice(i * plane, plane));
            }
        }
        else
        {
            ReadRaw(0, x, y, width, height);
            for (var i = 0; i < bands.Length; i++)
                Convert(_raw, bands[i], BandCount, plane, destination.Slice(i * plane, plane));
        }
    }

    private void ReadRaw(int plane, int x, int y, int width, int height) =>
        TiffImageCodec.Capture(Path, () =>
        {
            _blocks.ReadRegion(plane, x, y, width, height, _raw, 0, (long)width * _blocks.PixelBytes);
            return 0;
        });

    /// <summary>Drops cached strips/tiles that end above <paramref name="row"/>, for a caller that reads top to bottom.</summary>
    public void ReleaseAbove(int row) => _blocks.ReleaseAbove(row);

    /// <summary>Closes the file.</summary>
    public void Dispose() => _tif.Dispose();

    // Sample `band` of each of `count` pixels spaced `stride` samples apart, as float.
    private void Convert(byte[] raw, int band, int stride, int count, Span<float> destination)
    {
        switch (SampleType)
        {
            case RasterSampleType.UInt8:
                for (var i = 0; i < count; i++) destination[i] = raw[i * stride + band];
                break;
            case RasterSampleType.Int8:
                for (var i = 0; i < count; i++) destination[i] = (sbyte)raw[i * stride + band];
                break;
            case RasterSampleType.UInt16: Gather(MemoryMarshal.Cast<byte, ushort>(raw), band, stride, destination); break;
            case RasterSampleType.Int16: Gather(MemoryMarshal.Cast<byte, short>(raw), band, stride, destination); break;
            case RasterSampleType.UInt32: Gather(MemoryMarshal.Cast<byte, uint>(raw), band, stride, destination); break;
            case RasterSampleType.Int32: Gather(MemoryMarshal.Cast<byte, int>(raw), band, stride, destination); break;
            case RasterSampleType.Float32: Gather(MemoryMarshal.Cast<byte, float>(raw), band, stride, destination); break;
            case RasterSampleType.Float64: Gather(MemoryMarshal.Cast<byte, double>(raw), band, stride, destination); break;
        }
    }

    private static void Gather<T>(ReadOnlySpan<T> samples, int band, int stride, Span<float> destination) where T : INumberBase<T>
    {
        for (var i = 0; i < destination.Length; i++) destination[i] = float.CreateTruncating(samples[i * stride + band]);
    }

    private int Required(TiffTag tag)
    {
        var value = _tif.GetField(tag) ?? throw TiffImageCodec.Fail(Path, tag == TiffTag.IMAGEWIDTH ? "ImageWidth" : "ImageLength", "required tag is missing");
        return value[0].ToInt();
    }

    private int Defaulted(TiffTag tag, int fallback)
    {
        var value = _tif.GetFieldDefaulted(tag);
        return value is { Length: > 0 } ? value[0].ToInt() : fallback;
    }
}
