using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using FluentAssertions;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Imaging;

/// <summary>Scenes written by GDAL in the layouts satellite products ship in, read back by <see cref="GeoTiffReader"/> and compared with GDAL's own reading.</summary>
public sealed class GeoTiffReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // Writes a seeded random scene with GDAL (EPSG:32633, 10 m pixels), then reads one window of the
    // chosen bands with GDAL into a float32 file; prints GDAL's geotransform and no-data as JSON.
    private const string MakeAndRead = """
        path, dtype, w, h, nb, opts, nodata, x, y, ww, wh, bands, out = sys.argv[1:]
        w, h, nb, x, y, ww, wh = map(int, (w, h, nb, x, y, ww, wh))
        rng = np.random.default_rng(7)
        np_type = {'Byte': np.uint8, 'UInt16': np.uint16, 'Int16': np.int16, 'Float32': np.float32}[dtype]
        if np_type == np.float32:
            data = rng.normal(0.3, 0.2, (nb, h, w)).astype(np.float32)
        else:
            info = np.iinfo(np_type)
            data = rng.integers(info.min, info.max, (nb, h, w), endpoint=True, dtype=np_type)
        ds = gdal.GetDriverByName('GTiff').Create(path, w, h, nb, gdal.GetDataTypeByName(dtype), [o for o in opts.split(',') if o])
        ds.SetGeoTransform([500000.0, 10.0, 0.0, 4600020.0, 0.0, -10.0])
        srs = osr.SpatialReference(); srs.ImportFromEPSG(32633)
        ds.SetProjection(srs.ExportToWkt())
        for b in range(nb):
            band = ds.GetRasterBand(b + 1)
            if nodata != 'none':
                band.SetNoDataValue(float(nodata))
                data[b, :3, :5] = np_type(float(nodata))
            band.WriteArray(data[b])
        ds = None
        ds = gdal.Open(path)
        window = np.stack([ds.GetRasterBand(int(b)).ReadAsArray(x, y, ww, wh) for b in bands.split(',')]).astype(np.float32)
        window.tofile(out)
        print(json.dumps({'gt': ds.GetGeoTransform(), 'nodata': ds.GetRasterBand(1).GetNoDataValue()}))
        """;

    public static TheoryData<string, string, int, string> Layouts() => new()
    {
        // data type, creation options, bands, no-data
        { "Byte", "COMPRESS=LZW", 4, "0" },
        { "Byte", "TILED=YES,BLOCKXSIZE=32,BLOCKYSIZE=16,COMPRESS=DEFLATE", 4, "none" },
        { "UInt16", "TILED=YES,BLOCKXSIZE=32,BLOCKYSIZE=32,COMPRESS=DEFLATE", 13, "0" },
        { "UInt16", "COMPRESS=LZW,PREDICTOR=2,BLOCKYSIZE=7", 5, "65535" },
        { "UInt16", "INTERLEAVE=BAND,TILED=YES,BLOCKXSIZE=16,BLOCKYSIZE=16,COMPRESS=LZW", 4, "none" },
        { "Int16", "COMPRESS=DEFLATE,PREDICTOR=2", 4, "-9999" },
        { "Float32", "TILED=YES,BLOCKXSIZE=16,BLOCKYSIZE=32,COMPRESS=LZW", 6, "-9999" },
        { "Float32", "COMPRESS=DEFLATE,INTERLEAVE=BAND", 4, "none" },
    };

    [SkippableTheory]
    [MemberData(nameof(Layouts))]
    public void Windows_of_chosen_bands_equal_gdals_reading(string dataType, string creationOptions, int bands, string noData)
    {
        Skip.IfNot(Gdal.Available, Gdal.SkipReason);
        var path = _dir.Combine("scene.tif");
        var expectedPath = _dir.Combine("expected.bin");
        // A window crossing block boundaries, bands in a chosen order (one-based for GDAL: 4,3,2).
        const int x = 21, y = 5, w = 37, h = 29;
        var json = Gdal.RunPython(MakeAndRead, path, dataType, "83", "61", bands.ToString(CultureInfo.InvariantCulture),
            creationOptions, noData, $"{x}", $"{y}", $"{w}", $"{h}", "4,3,2", expectedPath);
        var gdal = JsonDocument.Parse(json).RootElement;
        var expected = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(expectedPath)).ToArray();

        using var reader = GeoTiffReader.Open(path);
        var actual = new float[3 * w * h];
        reader.ReadWindow(x, y, w, h, [3, 2, 1], actual);

        reader.Width.Should().Be(83);
        reader.Height.Should().Be(61);
        reader.BandCount.Should().Be(bands);
        reader.SampleType.ToString().Should().Be(dataType == "Byte" ? "UInt8" : dataType);
        reader.IsTiled.Should().Be(creationOptions.Contains("TILED=YES"));
        actual.Should().Equal(expected);
        var transform = reader.Georeference!.Transform!.Value.ToArray();
        transform.Should().Equal(gdal.GetProperty("gt").EnumerateArray().Select(e => e.GetDouble()));
        if (noData == "none") reader.NoData.Should().BeNull();
        else reader.NoData.Should().Be(gdal.GetProperty("nodata").GetDouble());
        reader.Georeference.KeyValue(3072).Should().Be(32633, "ProjectedCSTypeGeoKey holds the EPSG code");
    }

    [SkippableFact]
    public void Whole_scene_read_in_windows_equals_gdal_with_a_small_cache()
    {
        Skip.IfNot(Gdal.Available, Gdal.SkipReason);
        var path = _dir.Combine("scene.tif");
        var expectedPath = _dir.Combine("expected.bin");
        Gdal.RunPython(MakeAndRead, path, "UInt16", "64", "48", "4", "TILED=YES,BLOCKXSIZE=16,BLOCKYSIZE=16,COMPRESS=DEFLATE", "none",
            "0", "0", "64", "48", "1,2,3,4", expectedPath);
        var expected = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(expectedPath)).ToArray();
        using var reader = GeoTiffReader.Open(path);
        reader.CacheBytes = 3 * reader.BlockBytes;
        var actual = new float[4 * 48 * 64];
        var window = new float[4 * 16 * 16];
        // Overlapping 16×16 windows at stride 8; each written into its place.
        for (var wy = 0; wy + 16 <= 48; wy += 8)
            for (var wx = 0; wx + 16 <= 64; wx += 8)
            {
                reader.ReadWindow(wx, wy, 16, 16, [0, 1, 2, 3], window);
                for (var b = 0; b < 4; b++)
                    for (var r = 0; r < 16; r++)
                        window.AsSpan((b * 16 + r) * 16, 16).CopyTo(actual.AsSpan((b * 48 + wy + r) * 64 + wx, 16));
            }
        actual.Should().Equal(expected);
    }

    [SkippableTheory]
    [InlineData("rotated", "Area")]
    [InlineData("north-up", "Point")]
    public void Rotated_and_pixel_is_point_geotransforms_equal_gdals(string layout, string areaOrPoint)
    {
        Skip.IfNot(Gdal.Available, Gdal.SkipReason);
        var path = _dir.Combine("georef.tif");
        // A rotated transform is stored as ModelTransformation; PixelIsPoint shifts the tie point by half a pixel.
        var json = Gdal.RunPython("""
            path, layout, aop = sys.argv[1:]
            ds = gdal.GetDriverByName('GTiff').Create(path, 40, 30, 2, gdal.GDT_UInt16)
            if aop == 'Point':
                ds.SetMetadataItem('AREA_OR_POINT', 'Point')
            ds.SetGeoTransform([440720.0, 30.0, 5.0, 3751320.0, 4.0, -30.0] if layout == 'rotated' else [440720.0, 60.0, 0.0, 3751320.0, 0.0, -60.0])
            srs = osr.SpatialReference(); srs.ImportFromEPSG(32611)
            ds.SetProjection(srs.ExportToWkt())
            ds = None
            print(json.dumps(gdal.Open(path).GetGeoTransform()))
            """, path, layout, areaOrPoint);
        var expected = JsonDocument.Parse(json).RootElement.EnumerateArray().Select(e => e.GetDouble()).ToArray();

        using var reader = GeoTiffReader.Open(path);

        var actual = reader.Georeference!.Transform!.Value.ToArray();
        for (var i = 0; i < 6; i++) actual[i].Should().BeApproximately(expected[i], 1e-9);
        reader.Georeference.PixelIsPoint.Should().Be(areaOrPoint == "Point");
        if (layout == "rotated") reader.Georeference.Transformation.Should().HaveCount(16);
    }

    [Fact]
    public void Windows_outside_the_scene_and_missing_bands_are_rejected()
    {
        var path = _dir.Combine("small.tif");
        TestTiff.Write(path, 16, 16, 2, 8, tiled: false, planar: false);
        using var reader = GeoTiffReader.Open(path);
        var buffer = new float[2 * 16 * 16];
        FluentActions.Invoking(() => reader.ReadWindow(8, 8, 16, 16, [0], buffer)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*16×16*");
        FluentActions.Invoking(() => reader.ReadWindow(0, 0, 4, 4, [2], buffer)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Band 2*2 bands*");
        reader.Georeference.Should().BeNull();
    }
}
