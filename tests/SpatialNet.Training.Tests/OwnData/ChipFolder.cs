using BitMiracle.LibTiff.Classic;

namespace SpatialNet.Training.Tests.OwnData;

/// <summary>Writes a folder of class sub-folders of TIFF chips straight through LibTiff (not the code under test).</summary>
internal static class ChipFolder
{
    /// <summary>
    /// <paramref name="counts"/>[k] chips in folder <paramref name="classes"/>[k]; chip i of class k has, in band c,
    /// the value <paramref name="value"/>(k, i, c, y, x).
    /// </summary>
    public static void Write(string root, string[] classes, int[] counts, int size, int bands, int bits, Func<int, int, int, int, int, int> value)
    {
        for (int k = 0; k < classes.Length; k++)
        {
            Directory.CreateDirectory(Path.Combine(root, classes[k]));
            for (int i = 0; i < counts[k]; i++)
                WriteTiff(Path.Combine(root, classes[k], $"{classes[k]}_{i:000}.tif"), size, bands, bits, (c, y, x) => value(k, i, c, y, x));
        }
    }

    /// <summary>One pixel-interleaved strip TIFF of unsigned 8- or 16-bit samples.</summary>
    public static void WriteTiff(string path, int size, int bands, int bits, Func<int, int, int, int> value)
    {
        using var tif = Tiff.Open(path, "w") ?? throw new IOException("LibTiff could not create " + path);
        tif.SetField(TiffTag.IMAGEWIDTH, size);
        tif.SetField(TiffTag.IMAGELENGTH, size);
        tif.SetField(TiffTag.SAMPLESPERPIXEL, bands);
        tif.SetField(TiffTag.BITSPERSAMPLE, bits);
        tif.SetField(TiffTag.SAMPLEFORMAT, SampleFormat.UINT);
        tif.SetField(TiffTag.PHOTOMETRIC, bands == 3 ? Photometric.RGB : Photometric.MINISBLACK);
        if (bands > 1 && bands != 3)
            tif.SetField(TiffTag.EXTRASAMPLES, (short)(bands - 1), Enumerable.Repeat((short)ExtraSample.UNSPECIFIED, bands - 1).ToArray());
        tif.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
        tif.SetField(TiffTag.ROWSPERSTRIP, size);
        int bytes = bits / 8;
        for (int y = 0; y < size; y++)
        {
            var line = new byte[size * bands * bytes];
            for (int x = 0; x < size; x++)
                for (int c = 0; c < bands; c++)
                {
                    int v = value(c, y, x), at = (x * bands + c) * bytes;
                    line[at] = (byte)v;
                    if (bytes == 2)
                        line[at + 1] = (byte)(v >> 8);
                }
            tif.WriteScanline(line, y);
        }
        tif.WriteDirectory();
    }
}
