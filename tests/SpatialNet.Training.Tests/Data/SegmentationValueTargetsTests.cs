using FluentAssertions;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Data;

/// <summary>The segmentation layout with <c>targets_are_values</c>: ann_dir rasters read as per-pixel values for pixel_regression.</summary>
public sealed class SegmentationValueTargetsTests
{
    private const float NoData = -9999f;

    private static void WriteValues(string path, int width, int height, int bands, Func<int, int, int, float> value)
    {
        using var writer = new GeoTiffWriter(path, width, height, bands, RasterSampleType.Float32, null);
        var row = new float[width * bands];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
                for (int b = 0; b < bands; b++) row[x * bands + b] = value(b, x, y);
            writer.WriteRow(row);
        }
        writer.Commit();
    }

    private static void WriteImage(string path, byte[] planar, int size) =>
        File.WriteAllBytes(path, SkiaImageCodec.EncodePng(RasterImage.FromBytes(planar, 3, size, size)));

    [Fact]
    public void Value_rasters_are_read_per_band_with_no_data_as_NaN_and_resized_by_nearest_neighbour()
    {
        using var folder = new TempDirectory();
        Directory.CreateDirectory(folder.Combine("img_dir", "train"));
        Directory.CreateDirectory(folder.Combine("ann_dir", "train"));
        WriteImage(folder.Combine("img_dir", "train", "a.png"), new byte[3 * 2 * 2], 2);
        // Band b, pixel (x, y): 10·b + 2·y + x; pixel (1, 1) of band 0 is no-data, pixel (0, 1) of band 1 NaN.
        WriteValues(folder.Combine("ann_dir", "train", "a.tif"), 2, 2, 2,
            (b, x, y) => (b, x, y) switch { (0, 1, 1) => NoData, (1, 0, 1) => float.NaN, _ => 10 * b + 2 * y + x });

        var dataset = new SegmentationFolderDataset(folder.Path, "train",
            new SegmentationFolderOptions { TargetsAreValues = true, NoData = NoData, Height = 4, Width = 4 });
        using var sample = dataset.GetSample(0);
        var values = sample[SampleKeys.Values];
        values.shape.Should().Equal(2, 4, 4);
        var v = values.data<float>().ToArray();
        // Nearest neighbour ×2: output (x, y) reads source (⌊x/2⌋, ⌊y/2⌋).
        float[] band0 = [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, float.NaN, float.NaN, 2, 2, float.NaN, float.NaN];
        float[] band1 = [10, 10, 11, 11, 10, 10, 11, 11, float.NaN, float.NaN, 13, 13, float.NaN, float.NaN, 13, 13];
        v.Should().Equal([.. band0, .. band1], (a, b) => a.Equals(b));
    }

    [Fact]
    public void A_configured_pixel_regression_run_learns_values_from_the_red_band_below_the_mean_baseline()
    {
        using var folder = new TempDirectory();
        var data = folder.Combine("data");
        const int size = 32;
        var random = new Random(7);
        foreach (var (split, count) in new[] { ("train", 32), ("val", 8) })
        {
            Directory.CreateDirectory(Path.Combine(data, "img_dir", split));
            Directory.CreateDirectory(Path.Combine(data, "ann_dir", split));
            for (int n = 0; n < count; n++)
            {
                // 8×8 blocks of random colour; target = red / 25.5 (0–10), one no-data and one NaN pixel per image.
                var planar = new byte[3 * size * size];
                for (int by = 0; by < size / 8; by++)
                    for (int bx = 0; bx < size / 8; bx++)
                    {
                        var rgb = new[] { (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256) };
                        for (int y = by * 8; y < by * 8 + 8; y++)
                            for (int x = bx * 8; x < bx * 8 + 8; x++)
                                for (int c = 0; c < 3; c++) planar[(c * size + y) * size + x] = rgb[c];
                    }
                WriteImage(Path.Combine(data, "img_dir", split, $"{n:D3}.png"), planar, size);
                WriteValues(Path.Combine(data, "ann_dir", split, $"{n:D3}.tif"), size, size, 1,
                    (_, x, y) => (x, y) switch { (0, 0) => NoData, (1, 0) => float.NaN, _ => planar[y * size + x] / 25.5f });
            }
        }
        var configuration = SpatialNetConfiguration.FromJson($$"""
            {
              "output_dir": "{{folder.Combine("run").Replace("\\", "/", StringComparison.Ordinal)}}",
              "threads": 1,
              "model": { "image_size": 32, "patch_size": 8, "embed_dim": 16, "depth": 2, "num_heads": 2 },
              "tasks": [ { "name": "redness", "kind": "pixel_regression", "target": "values", "head": { "target_mean": 5, "target_std": 3 } } ],
              "loss": { "l2_lambda": 0.0 },
              "trainer": { "seed": 4, "learning_rate": 0.003, "epochs": 6, "early_stopping_patience": 0, "show_progress": false, "write_charts": false },
              "data": { "batch_size": 8, "sources": [ { "kind": "segmentation", "path": "{{data.Replace("\\", "/", StringComparison.Ordinal)}}", "targets_are_values": true, "no_data": -9999 } ] }
            }
            """);
        var run = TrainingPipeline.Run(configuration);

        var steps = run.Training.History.Steps;
        double first = steps.Take(4).Average(s => s.Losses["loss"]), last = steps.TakeLast(4).Average(s => s.Losses["loss"]);
        last.Should().BeLessThan(0.7 * first, "the first epoch's loss should fall");
        var task = run.Report.Result.Tasks.Single();
        task.Samples.Should().Be(8);
        var baseline = task.Baseline!;
        run.Report.Result.Metrics["redness/mae"].Should().BeLessThan(baseline["mae"]);
        run.Report.Result.Metrics["redness/rmse"].Should().BeLessThan(baseline["rmse"]);
        double.IsFinite(run.Report.Result.Metrics["redness/mae"]).Should().BeTrue("the no-data and NaN pixels are left out");
    }
}
