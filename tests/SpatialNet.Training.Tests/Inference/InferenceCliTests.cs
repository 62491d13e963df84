using System.Globalization;
using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Inference;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Pipeline;
using Xunit;

namespace SpatialNet.Training.Tests.Inference;

/// <summary><c>spatialnet predict</c> and <c>export onnx</c>, in-process, on a tiny trained run.</summary>
public sealed class InferenceCliTests(TinyRunFixture run) : IClassFixture<TinyRunFixture>
{
    private static (int Code, string Out, string Err) Cli(params string[] args) => CliRunner.Run(args);

    // Four validation scenes written as TIFF files in a folder (one in a subfolder).
    private static RasterImage[] WriteImages(TinyRunFixture run, string folder)
    {
        var m = run.Config.Model;
        var val = OpenedSource.Open(run.Config.Data.Sources[0], 0, m.ImageSize, m.InChannels, run.Config.Seed).Split("val")!;
        var images = new RasterImage[4];
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        for (int i = 0; i < images.Length; i++)
        {
            using var sample = val.GetSample(i);
            images[i] = RasterImage.FromTensor(sample[SampleKeys.Image]);
            TiffImageCodec.Write(Path.Combine(folder, i == 3 ? "sub" : ".", $"scene{i}.tif"), images[i]);
        }
        return images;
    }

    [Fact]
    public void Predict_writes_csv_and_json_for_a_folder()
    {
        using var folder = new TempDirectory();
        var images = WriteImages(run, folder.Combine("images"));
        using var predictor = Predictor.Open(run.Directory);
        var expected = predictor.Predict(images);

        var (code, stdout, stderr) = Cli("predict", "--run", run.Directory, "--input", folder.Combine("images"));
        code.Should().Be(0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.Should().HaveCount(5);
        var header = lines[0].Split(',');
        header[..2].Should().Equal("file", "land_cover");
        header.Should().Contain(["building_count", "presence", "presence:building", "presence:tree"]);
        var files = lines.Skip(1).Select(l => l.Split(',')[0]).ToArray();
        files.Should().Equal("scene0.tif", "scene1.tif", "scene2.tif", "sub/scene3.tif");
        for (int i = 0; i < 4; i++)
        {
            var fields = lines[1 + i].Split(',');
            fields[1].Should().Be(expected[i]["land_cover"].PredictedLabel);
            double.Parse(fields[Array.IndexOf(header, "building_count")], CultureInfo.InvariantCulture)
                .Should().BeApproximately(expected[i]["building_count"].Values[0], 1e-4);
            double.Parse(fields[Array.IndexOf(header, "presence:tree")], CultureInfo.InvariantCulture)
                .Should().BeApproximately(expected[i]["presence"].Values[1], 1e-5);
        }

        var json = folder.Combine("out", "predictions.json");
        Directory.CreateDirectory(folder.Combine("out"));
        (code, _, stderr) = Cli("predict", "--run", run.Directory, "--input", Path.Combine(folder.Combine("images"), "scene1.tif"), "--task", "presence", "--output", json);
        code.Should().Be(0, stderr);
        var parsed = JsonNode.Parse(File.ReadAllText(json))!.AsArray();
        parsed.Should().ContainSingle();
        parsed[0]!["file"]!.GetValue<string>().Should().Be("scene1.tif");
        parsed[0]!["tasks"]!.AsObject().Select(kv => kv.Key).Should().Equal("presence");
        parsed[0]!["tasks"]!["presence"]!["probabilities"]!["building"]!.GetValue<double>().Should().BeApproximately(expected[1]["presence"].Values[0], 1e-6);
    }

    [Fact]
    public void Predict_names_a_missing_input_and_an_unknown_task()
    {
        using var folder = new TempDirectory();
        var (code, _, stderr) = Cli("predict", "--run", run.Directory, "--input", folder.Combine("nothing.tif"));
        code.Should().Be(1);
        stderr.Should().Contain("nothing.tif");
        WriteImages(run, folder.Path);
        (code, _, stderr) = Cli("predict", "--run", run.Directory, "--input", folder.Path, "--task", "roads");
        code.Should().Be(1);
        stderr.Should().Contain("'roads'").And.Contain("land_cover");
    }

    [Fact]
    public void Export_onnx_writes_a_model_that_ONNX_Runtime_runs_like_the_predictor()
    {
        using var folder = new TempDirectory();
        var images = WriteImages(run, folder.Combine("images"));
        var path = folder.Combine("model.onnx");
        var (code, stdout, stderr) = Cli("export", "onnx", "--run", run.Directory, "--output", path);
        code.Should().Be(0, stderr);
        stdout.Trim().Should().Be(path);

        using var predictor = Predictor.Open(run.Directory);
        var expected = predictor.Predict(images);
        using var session = new InferenceSession(path);
        var pixels = images.SelectMany(i => i.Pixels8!).Select(b => (float)b).ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [4, 3, 32, 32]);
        using var results = session.Run(new RunOptions(), ["image"], [input], ["land_cover", "building_count", "presence"]);
        var names = new[] { "land_cover", "building_count", "presence" };
        for (int i = 0; i < names.Length; i++)
            results[i].GetTensorDataAsSpan<float>().ToArray().Should().Equal(expected.Outputs[names[i]], (a, b) => Math.Abs(a - b) <= 1e-5f, names[i]);
    }

    [Fact]
    public void Predict_maps_a_scene_into_GeoTIFF_maps_that_match_the_predictor_window_by_window()
    {
        // A 3-band 64×96 scene of four validation scenes side by side (2 rows × 3 windows, the last column repeated).
        using var folder = new TempDirectory();
        var tiles = WriteImages(run, folder.Combine("tiles"));
        int s = 32;
        var pixels = new byte[3 * 64 * 96];
        for (int row = 0; row < 2; row++)
        for (int col = 0; col < 3; col++)
        {
            var tile = tiles[Math.Min(row * 2 + col, 3)].Pixels8!;
            for (int c = 0; c < 3; c++)
            for (int y = 0; y < s; y++)
                Array.Copy(tile, (c * s + y) * s, pixels, (c * 64 + row * s + y) * 96 + col * s, s);
        }
        // Georeferenced: 10 m pixels, upper-left corner (500000, 4600000); rows written pixel-interleaved.
        var scene = folder.Combine("scene.tif");
        using (var writer = new GeoTiffWriter(scene, 96, 64, 3, RasterSampleType.UInt8,
                   new GeoReference { PixelScale = [10, 10, 0], TiePoints = [0, 0, 0, 500000, 4600000, 0] }))
        {
            var line = new byte[96 * 3];
            for (int y = 0; y < 64; y++)
            {
                for (int x = 0; x < 96; x++)
                for (int c = 0; c < 3; c++)
                    line[x * 3 + c] = pixels[(c * 64 + y) * 96 + x];
                writer.WriteRow(line);
            }
            writer.Commit();
        }

        var map = folder.Combine("maps", "map.tif");
        Directory.CreateDirectory(folder.Combine("maps"));
        var (code, stdout, stderr) = Cli("predict", "--run", run.Directory, "--input", scene, "--output", map, "--bands", "1,2,3", "--batch-size", "4");
        code.Should().Be(0, stderr);
        stdout.Should().Contain(map);
        stderr.Should().Contain("6 / 6 windows");

        using var predictor = Predictor.Open(run.Directory);
        using var probabilities = GeoTiffReader.Open(folder.Combine("maps", "map.land_cover.probabilities.tif"));
        (probabilities.Width, probabilities.Height, probabilities.BandCount).Should().Be((3, 2, 5));
        var cells = new float[5 * 6];
        probabilities.ReadWindow(0, 0, 3, 2, [0, 1, 2, 3, 4], cells);
        // The class map is a palette image (which GeoTiffReader refuses as a scene): read by LibTiff.
        var classes = new byte[6];
        using (var classMap = BitMiracle.LibTiff.Classic.Tiff.Open(map, "r"))
        {
            classMap.GetField(BitMiracle.LibTiff.Classic.TiffTag.IMAGEWIDTH)[0].ToInt().Should().Be(3);
            classMap.GetField(BitMiracle.LibTiff.Classic.TiffTag.IMAGELENGTH)[0].ToInt().Should().Be(2);
            for (int row = 0; row < 2; row++)
            {
                var line = new byte[3];
                classMap.ReadScanline(line, row).Should().BeTrue();
                line.CopyTo(classes, row * 3);
            }
        }
        for (int row = 0; row < 2; row++)
        for (int col = 0; col < 3; col++)
        {
            var expected = predictor.Predict(tiles[Math.Min(row * 2 + col, 3)])["land_cover"].Values;
            for (int k = 0; k < 5; k++)
                cells[(k * 2 + row) * 3 + col].Should().BeApproximately(expected[k], 1e-6f, $"cell ({row}, {col}), class {k}");
            ((int)classes[row * 3 + col]).Should().Be(Array.IndexOf(expected.ToArray(), expected.Max()), $"class of cell ({row}, {col})");
        }

        // One cell per 32-pixel window: 320 m cells from the scene's upper-left corner.
        probabilities.Georeference!.PixelScale!.Take(2).Should().Equal(320, 320);
        probabilities.Georeference.TiePoints!.Skip(3).Take(2).Should().Equal(500000, 4600000);
    }
}
