using SpatialNet.IO;
using System.Runtime.InteropServices;
using BitMiracle.LibTiff.Classic;

namespace SpatialNet.Training.Imaging;

/// <summary>
/// Writes a GeoTIFF row by row, Deflate-compressed strips, pixel-interleaved, so a map of any size
/// needs one strip in memory. The file is written under a temporary name in the target's folder
/// (<see cref="AtomicFile.TempPrefix"/>) and renamed over the target by <see cref="Commit"/>;
/// disposing without committing deletes it.
/// </summary>
internal sealed class GeoTiffWriter : IDisposable
{
    private readonly Tiff _tif;
    private readonly string _temp;
    private readonly byte[] _strip;
    private readonly int _rowBytes;
    private readonly int _rowsPerStrip;
    private int _row;
    private int _rowsInStrip;
    private bool _done;

    /// <param name="path">Target file.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="bands">Samples per pixel.</param>
    /// <param name="sampleType"><see cref="RasterSampleType.UInt8"/> or <see cref="RasterSampleType.Float32"/>.</param>
    /// <param name="georeference">Tags to write (CRS, transform, GDAL no-data), or null.</param>
    /// <param name="colorMap">256-entry 8-bit RGB palette for a one-band uint8 image, or null.</param>
    /// <param name="gdalMetadata">GDAL_METADATA XML (band descriptions, metadata items), or null.</param>
    public GeoTiffWriter(string path, int width, int height, int bands, RasterSampleType sampleType,
        GeoReference? georeference, IReadOnlyList<(byte R, byte G, byte B)>? colorMap = null, string? gdalMetadata = null)
    {
        if (width <= 0 || height <= 0 || bands <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"A map needs a positive size and band count; got {width}×{height}×{bands}.");
        if (sampleType is not (RasterSampleType.UInt8 or RasterSampleType.Float32))
            throw new ArgumentOutOfRangeException(nameof(sampleType), $"Maps are written as UInt8 or Float32; got {sampleType}.");
        if (colorMap is not null && (bands != 1 || sampleType != RasterSampleType.UInt8 || colorMap.Count != 256))
            throw new ArgumentException("A colour map needs a one-band UInt8 image and 256 entries.", nameof(colorMap));
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        AtomicFile.RemoveStale(directory, Path.GetFileName(full));
        Target = full;
        _temp = Path.Combine(directory, $"{AtomicFile.TempPrefix}{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        var bytesPerSample = sampleType == RasterSampleType.UInt8 ? 1 : 4;
        _rowBytes = checked(width * bands * bytesPerSample);
        // Strips of about 256 KiB: big enough for Deflate, small enough to keep memory flat.
        _rowsPerStrip = Math.Clamp((256 << 10) / _rowBytes, 1, height);
        _strip = new byte[checked(_rowsPerStrip * _rowBytes)];
        Width = width;
        Height = height;
        Bands = bands;
        SampleType = sampleType;

        _tif = TiffImageCodec.Capture(full, () => Tiff.Open(_temp, height * (long)_rowBytes > 3_900_000_000L ? "w8" : "w")
            ?? throw TiffImageCodec.Fail(full, null, "LibTiff could not create the file"));
        try
        {
            TiffImageCodec.Capture(full, () =>
            {
                _tif.SetField(TiffTag.IMAGEWIDTH, width);
                _tif.SetField(TiffTag.IMAGELENGTH, height);
                _tif.SetField(TiffTag.SAMPLESPERPIXEL, bands);
                _tif.SetField(TiffTag.BITSPERSAMPLE, bytesPerSample * 8);
                _tif.SetField(TiffTag.SAMPLEFORMAT, sampleType == RasterSampleType.UInt8 ? SampleFormat.UINT : SampleFormat.IEEEFP);
                _tif.SetField(TiffTag.PHOTOMETRIC, colorMap is not null ? Photometric.PALETTE : Photometric.MINISBLACK);
                if (bands > 1)
                    _tif.SetField(TiffTag.EXTRASAMPLES, (short)(bands - 1), Enumerable.Repeat((short)ExtraSample.UNSPECIFIED, bands - 1).ToArray());
                _tif.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
                _tif.SetField(TiffTag.COMPRESSION, Compression.ADOBE_DEFLATE);
                _tif.SetField(TiffTag.ROWSPERSTRIP, _rowsPerStrip);
                if (colorMap is not null)
                {
                    // TIFF colour maps are 16-bit: v·257 maps 255 to 65535.
                    _tif.SetField(TiffTag.COLORMAP, colorMap.Select(c => (ushort)(c.R * 257)).ToArray(),
                        colorMap.Select(c => (ushort)(c.G * 257)).ToArray(), colorMap.Select(c => (ushort)(c.B * 257)).ToArray());
                }
                if (gdalMetadata is not null) _tif.SetField(GeoTiffTags.GdalMetadata, gdalMetadata);
                georeference?.Write(_tif);
                return 0;
            });
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The final path.</summary>
    public string Target { get; }

    public int Width { get; }

    public int Height { get; }

    public int Bands { get; }

    public RasterSampleType SampleType { get; }

    /// <summary>Bytes held for the strip being filled.</summary>
    public long BufferBytes => _strip.Length;

    /// <summary>Appends the next row: <see cref="Width"/>·<see cref="Bands"/> samples, pixel-interleaved.</summary>
    public void WriteRow(ReadOnlySpan<float> row)
    {
        if (SampleType != RasterSampleType.Float32) throw new InvalidOperationException($"{Target} holds {SampleType} samples.");
        WriteRow(MemoryMarshal.AsBytes(row));
    }

    /// <summary>Appends the next row of raw samples (host byte order).</summary>
    public void WriteRow(ReadOnlySpan<byte> row)
    {
        if (row.Length != _rowBytes) throw new ArgumentException($"A row of {Target} has {_rowBytes} bytes; got {row.Length}.", nameof(row));
        if (_row >= Height) throw new InvalidOperationException($"{Target} already has all {Height} rows.");
        row.CopyTo(_strip.AsSpan(_rowsInStrip * _rowBytes));
        _rowsInStrip++;
        _row++;
        if (_rowsInStrip == _rowsPerStrip || _row == Height) FlushStrip();
    }

    /// <summary>Finishes the file and renames it over <see cref="Target"/>.</summary>
    /// <exception cref="InvalidOperationException">Not every row was written.</exception>
    public void Commit()
    {
        if (_row != Height) throw new InvalidOperationException($"{Target}: {_row} of {Height} rows written.");
        TiffImageCodec.Capture(Target, () =>
        {
            if (!_tif.WriteDirectory()) throw TiffImageCodec.Fail(Target, null, "LibTiff could not write the directory");
            return 0;
        });
        _tif.Dispose();
        File.Move(_temp, Target, overwrite: true);
        _done = true;
    }

    /// <summary>Closes the file; without <see cref="Commit"/>, deletes the temporary file.</summary>
    public void Dispose()
    {
        if (_done) return;
        _done = true;
        _tif?.Dispose();
        try { File.Delete(_temp); }
        catch (IOException) { /* best effort: the temporary name marks it as stale */ }
        catch (UnauthorizedAccessException) { }
    }

    private void FlushStrip()
    {
        var strip = (_row - 1) / _rowsPerStrip;
        var bytes = _rowsInStrip * _rowBytes;
        TiffImageCodec.Capture(Target, () =>
        {
            if (_tif.WriteEncodedStrip(strip, _strip, bytes) < 0)
                throw TiffImageCodec.Fail(Target, "StripByteCounts", $"strip {strip} could not be written");
            return 0;
        });
        _rowsInStrip = 0;
    }
}
