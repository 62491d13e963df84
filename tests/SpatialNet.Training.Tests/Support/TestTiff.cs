using BitMiracle.LibTiff.Classic;

namespace SpatialNet.Training.Tests.Support;

/// <summary>
/// Writes TIFF files straight through LibTiff's scanline/tile API (not through the code under test),
/// with pixel values from a formula the tests know.
/// </summary>
internal static class TestTiff
{
    /// <summary>The known value of band c, row y, column x.</summary>
    public static int Value(int bits, int c, int y, int x) =>
        bits == 8 ? (c * 37 + y * 11 + x * 3) % 256 : (c * 10007 + y * 263 + x * 17 + 300) % 65536;

    public static void Write(string path, int width, int height, int bands, int bits, bool tiled, bool planar,
        bool bigEndian = false, Compression compression = Compression.NONE, int rowsPerStrip = 5, Photometric? photometric = null)
    {
        using var tif = Tiff.Open(path, bigEndian ? "wb" : "wl") ?? throw new IOException("LibTiff could not create " + path);
        tif.SetField(TiffTag.IMAGEWIDTH, width);
        tif.SetField(TiffTag.IMAGELENGTH, height);
        tif.SetField(TiffTag.SAMPLESPERPIXEL, bands);
        tif.SetField(TiffTag.BITSPERSAMPLE, bits);
        tif.SetField(TiffTag.SAMPLEFORMAT, SampleFormat.UINT);
        tif.SetField(TiffTag.PHOTOMETRIC, photometric ?? (bands == 3 ? Photometric.RGB : Photometric.MINISBLACK));
        if (bands > 1 && bands != 3)
            tif.SetField(TiffTag.EXTRASAMPLES, (short)(bands - 1), Enumerable.Repeat((short)ExtraSample.UNSPECIFIED, bands - 1).ToArray());
        tif.SetField(TiffTag.PLANARCONFIG, planar ? PlanarConfig.SEPARATE : PlanarConfig.CONTIG);
        tif.SetField(TiffTag.COMPRESSION, compression);
        var bytes = bits / 8;
        var perPixel = planar ? 1 : bands;
        if (tiled)
        {
            const int tile = 16;
            tif.SetField(TiffTag.TILEWIDTH, tile);
            tif.SetField(TiffTag.TILELENGTH, tile);
            for (short p = 0; p < (planar ? bands : 1); p++)
                for (var ty = 0; ty < height; ty += tile)
                    for (var tx = 0; tx < width; tx += tile)
                    {
                        var buffer = new byte[tile * tile * perPixel * bytes];
                        for (var y = 0; y < tile; y++)
                            for (var x = 0; x < tile; x++)
                                for (var s = 0; s < perPixel; s++)
                                {
                                    var (gy, gx) = (ty + y, tx + x);
                                    if (gy >= height || gx >= width) continue;
                                    var c = planar ? p : s;
                                    Put(buffer, ((y * tile + x) * perPixel + s) * bytes, bits, Value(bits, c, gy, gx));
                                }
                        tif.WriteTile(buffer, tx, ty, 0, p);
                    }
        }
        else
        {
            tif.SetField(TiffTag.ROWSPERSTRIP, rowsPerStrip);
            for (short p = 0; p < (planar ? bands : 1); p++)
                for (var y = 0; y < height; y++)
                {
                    var line = new byte[width * perPixel * bytes];
                    for (var x = 0; x < width; x++)
                        for (var s = 0; s < perPixel; s++)
                            Put(line, (x * perPixel + s) * bytes, bits, Value(bits, planar ? p : s, y, x));
                    tif.WriteScanline(line, y, p);
                }
        }
        tif.WriteDirectory();
    }

    /// <summary>Writes a simple 8-bit RGB strip TIFF from a [C,H,W] byte array.</summary>
    public static void WriteRgb(string path, byte[] planar, int height, int width, int bands = 3)
    {
        using var tif = Tiff.Open(path, "w") ?? throw new IOException("LibTiff could not create " + path);
        tif.SetField(TiffTag.IMAGEWIDTH, width);
        tif.SetField(TiffTag.IMAGELENGTH, height);
        tif.SetField(TiffTag.SAMPLESPERPIXEL, bands);
        tif.SetField(TiffTag.BITSPERSAMPLE, 8);
        tif.SetField(TiffTag.PHOTOMETRIC, bands == 3 ? Photometric.RGB : Photometric.MINISBLACK);
        if (bands > 1 && bands != 3)
            tif.SetField(TiffTag.EXTRASAMPLES, (short)(bands - 1), Enumerable.Repeat((short)ExtraSample.UNSPECIFIED, bands - 1).ToArray());
        tif.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
        tif.SetField(TiffTag.ROWSPERSTRIP, height);
        var plane = height * width;
        for (var y = 0; y < height; y++)
        {
            var line = new byte[width * bands];
            for (var x = 0; x < width; x++)
                for (var c = 0; c < bands; c++) line[x * bands + c] = planar[c * plane + y * width + x];
            tif.WriteScanline(line, y);
        }
    }

    private static void Put(byte[] buffer, int offset, int bits, int value)
    {
        if (bits == 8) { buffer[offset] = (byte)value; return; }
        // Host (little-endian) order: LibTiff swaps when the file is big-endian.
        BitConverter.TryWriteBytes(buffer.AsSpan(offset, 2), (ushort)value);
    }
}
