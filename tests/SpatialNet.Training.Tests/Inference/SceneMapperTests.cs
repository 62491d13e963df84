using System.Text.Json;
using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Imaging;
using static TorchSharp.torch;
using SpatialNet.Training.Inference;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Inference;

/// <summary>Maps scenes written by GDAL with a model whose answer is known, and reads the maps back with GDAL.</summary>
public sealed class SceneMapperTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // A 100×80, 4-band uint8 scene of 20×20 blocks (EPSG:32633, 10 m pixels): block (bx, by) has
    // band 2 = 50·k + 10 with k = (bx + by) % 3, band 3 = 10·bx + by + 1; block (0, 0) is no-data (0).
    private const string MakeBlocks = """
        path, dtype = sys.argv[1:]
        data = np.zeros((4, 80, 100), dtype=np.float64)
        for by in range(4):
            for bx in range(5):
                k = (bx + by) % 3
                data[0, by*20:(by+1)*20, bx*20:(bx+1)*20] = 7
                data[1, by*20:(by+1)*20, bx*20:(bx+1)*20] = 50 * k + 10
                data[2, by*20:(by+1)*20, bx*20:(bx+1)*20] = 10 * bx + by + 1
                data[3, by*20:(by+1)*20, bx*20:(bx+1)*20] = 3
        data[:, 0:20, 0:20] = 0
        scale = 257 if dtype == 'UInt16' else 1
        ds = gdal.GetDriverByName('GTiff').Create(path, 100, 80, 4, gdal.GetDataTypeByName(dtype), ['TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32', 'COMPRESS=DEFLATE'])
        ds.SetGeoTransform([500000.0, 10.0, 0.0, 4600000.0, 0.0, -10.0])
        srs = osr.SpatialReference(); srs.ImportFromEPSG(32633)
        ds.SetProjection(srs.ExportToWkt())
        for b in range(4):
            ds.GetRasterBand(b + 1).SetNoDataValue(0)
            ds.GetRasterBand(b + 1).WriteArray(data[b] * scale)
        ds = None
        """;

    // Band values, GDAL's view of a written map: geotransform, EPSG code, no-data, colour table, metadata.
    private const string ReadMap = """
        ds = gdal.Open(sys.argv[1])
        srs = osr.SpatialReference(wkt=ds.GetProjection())
        b1 = ds.GetRasterBand(1)
        ct = b1.GetColorTable()
        print(json.dumps({
            'size': [ds.RasterXSize, ds.RasterYSize, ds.RasterCount],
            'gt': ds.GetGeoTransform(),
            'epsg': srs.GetAuthorityCode(None),
            'nodata': [(lambda v: 'nan' if v is not None and v != v else v)(ds.GetRasterBand(i + 1).GetNoDataValue()) for i in range(ds.RasterCount)],
            'values': [np.where(np.isnan(a), -1, a).tolist() for a in (ds.GetRasterBand(i + 1).ReadAsArray().astype(np.float64) for i in range(ds.RasterCount))],
            'colors': ct.GetCount() if ct else 0,
            'color1': list(ct.GetColorEntry(1)) if ct else None,
            'metadata': ds.GetMetadata(),
            'descriptions': [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)],
        }))
        """;

    /// <summary>Class = round((mean of band 0 − 10)/50) one-hot; regression = mean of band 1.</summary>
    private sealed class BlockModel(int window) : IWindowModel
    {
        public int Channels => 2;
        public int WindowSize => window;
        public List<int> BatchSizes { get; } = [];
        public IReadOnlyList<WindowTask> Tasks { get; } =
        [
            new("land_use", TaskKind.Classification, ["water", "forest", "urban"]),
            new("count", TaskKind.Regression, ["buildings"]),
        ];

        public IReadOnlyDictionary<string, float[]> Run(ReadOnlySpan<float> windows, int count)
        {
            BatchSizes.Add(count);
            var plane = window * window;
            var classes = new float[count * 3];
            var values = new float[count];
            for (var i = 0; i < count; i++)
            {
                double band0 = 0, band1 = 0, n = 0;
                for (var p = 0; p < plane; p++)
                {
                    var v0 = windows[(i * 2) * plane + p];
                    if (v0 == 0) continue; // no-data pixels
                    band0 += v0;
                    band1 += windows[(i * 2 + 1) * plane + p];
                    n++;
                }
                var k = (int)Math.Clamp(Math.Round((band0 / n - 10) / 50), 0, 2);
                classes[i * 3 + k] = 1;
                values[i] = (float)(band1 / n);
            }
            return new Dictionary<string, float[]> { ["land_use"] = classes, ["count"] = values };
        }
    }

    [SkippableTheory]
    [InlineData("Byte")]
    [InlineData("UInt16")]
    public void Class_and_regression_maps_read_back_by_gdal_with_crs_extent_nodata_and_values(string dataType)
    {
        Skip.IfNot(Gdal.Available, Gdal.SkipReason);
        var scene = _dir.Combine("scene.tif");
        Gdal.RunPython(MakeBlocks, scene, dataType);
        var output = _dir.Combine("out", "map.tif");
        var model = new BlockModel(20);
        var reports = new List<SceneMappingProgress>();

        // Bands 2 and 3 (zero-based 1, 2); uint16 samples scaled by 255/65535, which undoes the ×257.
        var result = SceneMapper.Map(model, scene, output, new SceneMappingOptions { Bands = [1, 2], BatchSize = 3 },
            new SynchronousProgress<SceneMappingProgress>(reports.Add));

        var map = JsonDocument.Parse(Gdal.RunPython(ReadMap, output)).RootElement;
        map.GetProperty("size").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(5, 4, 1);
        map.GetProperty("gt").EnumerateArray().Select(e => e.GetDouble()).Should().Equal(500000, 200, 0, 4600000, 0, -200);
        map.GetProperty("epsg").GetString().Should().Be("32633");
        map.GetProperty("nodata")[0].GetDouble().Should().Be(255);
        map.GetProperty("colors").GetInt32().Should().Be(256);
        map.GetProperty("metadata").GetProperty("CLASS_NAMES").GetString().Should().Be("water,forest,urban");
        map.GetProperty("metadata").GetProperty("CLASS_2").GetString().Should().Be("urban");
        var classes = map.GetProperty("values")[0];
        for (var by = 0; by < 4; by++)
            for (var bx = 0; bx < 5; bx++)
                classes[by][bx].GetDouble().Should().Be(bx == 0 && by == 0 ? 255 : (bx + by) % 3, $"cell ({bx}, {by})");

        var counts = JsonDocument.Parse(Gdal.RunPython(ReadMap, _dir.Combine("out", "map.count.tif"))).RootElement;
        counts.GetProperty("size").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(5, 4, 1);
        counts.GetProperty("epsg").GetString().Should().Be("32633");
        counts.GetProperty("nodata")[0].GetString().Should().Be("nan");
        counts.GetProperty("descriptions")[0].GetString().Should().Be("buildings");
        for (var by = 0; by < 4; by++)
            for (var bx = 0; bx < 5; bx++)
                counts.GetProperty("values")[0][by][bx].GetDouble().Should().Be(bx == 0 && by == 0 ? -1 : 10 * bx + by + 1);

        var probabilities = JsonDocument.Parse(Gdal.RunPython(ReadMap, _dir.Combine("out", "map.land_use.probabilities.tif"))).RootElement;
        probabilities.GetProperty("size").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(5, 4, 3);
        probabilities.GetProperty("values")[2][1][1].GetDouble().Should().Be(1, "cell (1, 1) is class (1 + 1) % 3 = 2");
        probabilities.GetProperty("values")[0][1][1].GetDouble().Should().Be(0);
        probabilities.GetProperty("values")[0][0][0].GetDouble().Should().Be(-1, "no-data is NaN");

        // Summary: 19 valid blocks of 400 pixels of 100 m²; classes by (bx + by) % 3 without block (0, 0).
        var expectedBlocks = new int[3];
        for (var by = 0; by < 4; by++)
            for (var bx = 0; bx < 5; bx++)
                if (bx + by > 0) expectedBlocks[(bx + by) % 3]++;
        var summary = JsonDocument.Parse(File.ReadAllText(_dir.Combine("out", "map.summary.json"))).RootElement;
        summary.GetProperty("valid_pixels").GetInt64().Should().Be(19 * 400);
        summary.GetProperty("no_data_pixels").GetInt64().Should().Be(400);
        summary.GetProperty("windows_skipped_no_data").GetInt64().Should().Be(1);
        var land = summary.GetProperty("tasks")[0].GetProperty("classes");
        for (var k = 0; k < 3; k++)
        {
            land[k].GetProperty("pixels").GetInt64().Should().Be(expectedBlocks[k] * 400L);
            land[k].GetProperty("area").GetDouble().Should().Be(expectedBlocks[k] * 400 * 100.0);
        }
        // Total count: each window's value once (a window is one cell of 400 of its 400 pixels).
        var total = Enumerable.Range(0, 20).Where(i => i > 0).Sum(i => 10 * (i % 5) + i / 5 + 1);
        summary.GetProperty("tasks")[1].GetProperty("values")[0].GetProperty("total").GetDouble().Should().BeApproximately(total, 1e-3);

        result.Files.Should().HaveCount(4);
        model.BatchSizes.Should().OnlyContain(n => n <= 3);
        reports.Should().NotBeEmpty();
        reports[^1].WindowsDone.Should().Be(20);
        reports[^1].MapRowsWritten.Should().Be(4);
        Directory.GetFiles(_dir.Combine("out")).Should().NotContain(f => Path.GetFileName(f).StartsWith(".tmp-"));
    }

    [SkippableFact]
    public void Overlapping_windows_average_into_cells_and_the_edge_window_is_clamped_inside()
    {
        Skip.IfNot(Gdal.Available, Gdal.SkipReason);
        var scene = _dir.Combine("scene.tif");
        Gdal.RunPython(MakeBlocks, scene, "Byte");
        var output = _dir.Combine("overlap.tif");

        // Window 20, stride 10, cells 10: x = 0, 10, …, 80; cell (cx, cy) averages the windows covering it.
        SceneMapper.Map(new BlockModel(20), scene, output, new SceneMappingOptions { Bands = [1, 2], Stride = 10, NoData = 0 });

        var counts = JsonDocument.Parse(Gdal.RunPython(ReadMap, _dir.Combine("overlap.count.tif"))).RootElement;
        counts.GetProperty("size").EnumerateArray().Select(e => e.GetInt32()).Should().Equal(10, 8, 1);
        counts.GetProperty("gt").EnumerateArray().Select(e => e.GetDouble()).Should().Equal(500000, 100, 0, 4600000, 0, -100);
        // Expected by hand: a window's value is the mean of band 3 over its valid pixels.
        double Block(int px, int py) => 10 * (px / 20) + py / 20 + 1;
        double WindowValue(int x, int y)
        {
            double sum = 0; var n = 0;
            for (var r = y; r < y + 20; r++)
                for (var c = x; c < x + 20; c++)
                    if (c >= 20 || r >= 20) { sum += Block(c, r); n++; }
            return sum / n;
        }
        for (var cy = 0; cy < 8; cy++)
            for (var cx = 0; cx < 10; cx++)
            {
                var covering = new List<double>();
                for (var y = 0; y <= 60; y += 10)
                    for (var x = 0; x <= 80; x += 10)
                        if (x <= cx * 10 && cx * 10 < x + 20 && y <= cy * 10 && cy * 10 < y + 20 && !(x == 0 && y == 0))
                            covering.Add(WindowValue(x, y));
                var actual = counts.GetProperty("values")[0][cy][cx].GetDouble();
                if (cx < 2 && cy < 2) actual.Should().Be(-1, "cells inside the no-data block are no-data");
                else actual.Should().BeApproximately(covering.Average(), 1e-4, $"cell ({cx}, {cy})");
            }
    }

    [SkippableFact]
    public void A_multi_task_model_maps_each_window_as_its_own_forward_pass_would()
    {
        Skip.IfNot(Gdal.Available, Gdal.SkipReason);
        var scene = _dir.Combine("scene.tif");
        Gdal.RunPython(MakeBlocks, scene, "Byte");
        manual_seed(5);
        var encoder = new VisionTransformer(new VisionTransformerOptions { ImageSize = 20, PatchSize = 10, EmbedDim = 8, Depth = 1, NumHeads = 2, InChannels = 2 });
        var layout = TokenLayout.Of(encoder);
        using var model = new MultiTaskModel(encoder,
        [
            new ClassificationHead("land_use", layout, new ClassificationHeadOptions { NumClasses = 3 }),
            new RegressionHead("count", layout, new RegressionHeadOptions { TargetMean = 4, TargetStd = 2 }),
        ]);
        var statistics = new NormalizationStatistics([0.3, 0.1], [0.2, 0.05]);
        var windows = new MultiTaskWindowModel(model, 2, 20, statistics, new Dictionary<string, IReadOnlyList<string>> { ["land_use"] = ["a", "b", "c"] });

        SceneMapper.Map(windows, scene, _dir.Combine("m.tif"), new SceneMappingOptions { Bands = [1, 2], BatchSize = 7 });

        // Reference: the block at cell (3, 2) through the model by hand, (x/255 − mean)/std.
        var block = new float[2 * 20 * 20];
        for (var i = 0; i < 400; i++) { block[i] = 50 * ((3 + 2) % 3) + 10; block[400 + i] = 10 * 3 + 2 + 1; }
        using var x = tensor(block, [1, 2, 20, 20]).div(255f).sub(tensor(new[] { 0.3f, 0.1f }).view(-1, 1, 1)).div(tensor(new[] { 0.2f, 0.05f }).view(-1, 1, 1));
        model.eval();
        using var noGrad = no_grad();
        var outputs = model.Forward(x);
        var probabilities = model.Head("land_use").Predict(outputs["land_use"]).data<float>().ToArray();
        var count = model.Head("count").Predict(outputs["count"]).data<float>().ToArray();

        var map = JsonDocument.Parse(Gdal.RunPython(ReadMap, _dir.Combine("m.land_use.probabilities.tif"))).RootElement;
        for (var k = 0; k < 3; k++) map.GetProperty("values")[k][2][3].GetDouble().Should().BeApproximately(probabilities[k], 1e-5);
        map.GetProperty("descriptions").EnumerateArray().Select(e => e.GetString()).Should().Equal("a", "b", "c");
        var counts = JsonDocument.Parse(Gdal.RunPython(ReadMap, _dir.Combine("m.count.tif"))).RootElement;
        counts.GetProperty("values")[0][2][3].GetDouble().Should().BeApproximately(count[0], 1e-5);
        var classes = JsonDocument.Parse(Gdal.RunPython(ReadMap, _dir.Combine("m.tif"))).RootElement;
        classes.GetProperty("values")[0][2][3].GetDouble().Should().Be(Array.IndexOf(probabilities, probabilities.Max()));
    }

    [Fact]
    public void A_scene_smaller_than_the_window_names_the_file()
    {
        var scene = _dir.Combine("tiny.tif");
        TestTiff.Write(scene, 16, 16, 2, 8, tiled: false, planar: false);
        var error = FluentActions.Invoking(() => SceneMapper.Map(new BlockModel(20), scene, _dir.Combine("x.tif")))
            .Should().Throw<SpatialNet.Training.Imaging.ImageDecodeException>().Which;
        error.FilePath.Should().Be(scene);
        error.Message.Should().Contain("smaller than the model's 20×20 window");
        File.Exists(_dir.Combine("x.tif")).Should().BeFalse();
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
