using System.Text.Json;
using FluentAssertions;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Cli;

/// <summary><c>spatialnet metrics segmentation</c> over folders of PNG and GeoTIFF masks.</summary>
public sealed class SegmentationMetricsCliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = SpatialNet.Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    internal static void WritePng(string path, int height, int width, params byte[] values) =>
        File.WriteAllBytes(path, SkiaImageCodec.EncodePng(RasterImage.FromBytes(values, 1, height, width)));

    /// <summary>A one-band uint8 GeoTIFF with a colour map, as class maps are written: its samples are indices.</summary>
    internal static void WritePaletteTiff(string path, int height, int width, params byte[] values)
    {
        var palette = Enumerable.Range(0, 256).Select(i => ((byte)i, (byte)(255 - i), (byte)(i / 2))).ToList();
        using var writer = new GeoTiffWriter(path, width, height, 1, RasterSampleType.UInt8, null, palette);
        for (int y = 0; y < height; y++) writer.WriteRow(values.AsSpan(y * width, width));
        writer.Commit();
    }

    private static (string Refs, string Preds) HandCase(TempDirectory dir)
    {
        var refs = Directory.CreateDirectory(dir.Combine("refs")).FullName;
        var preds = Directory.CreateDirectory(dir.Combine("preds")).FullName;
        // The hand-computed case of SegmentationMetricsTests: aAcc 5/8, IoU 1/4, 3/4, 1/3.
        WritePng(Path.Combine(refs, "a.png"), 2, 3, 0, 0, 1, 1, 255, 2);
        WritePaletteTiff(Path.Combine(preds, "a.tif"), 2, 3, 0, 1, 1, 1, 2, 0);
        WritePng(Path.Combine(refs, "b.png"), 2, 2, 1, 2, 2, 255);
        WritePng(Path.Combine(preds, "b.png"), 2, 2, 1, 2, 0, 0);
        return (refs, preds);
    }

    [Fact]
    public void Scores_png_and_palette_geotiff_masks_matched_by_name()
    {
        using var dir = new TempDirectory();
        var (refs, preds) = HandCase(dir);
        var output = dir.Combine("scores.json");
        var (code, stdout, stderr) = Run("metrics", "segmentation", "--references", refs, "--predictions", preds, "--json", "--output", output);
        code.Should().Be(0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        root.GetProperty("images").GetInt32().Should().Be(2);
        root.GetProperty("num_classes").GetInt32().Should().Be(3);
        root.GetProperty("aAcc").GetDouble().Should().BeApproximately(5.0 / 8, 1e-12);
        root.GetProperty("mIoU").GetDouble().Should().BeApproximately(4.0 / 9, 1e-12);
        root.GetProperty("mAcc").GetDouble().Should().BeApproximately(11.0 / 18, 1e-12);
        root.GetProperty("per_class")[0].GetProperty("iou").GetDouble().Should().BeApproximately(0.25, 1e-12);
        root.GetProperty("per_class")[2].GetProperty("predicted_pixels").GetInt64().Should().Be(1);
        File.ReadAllText(output).Should().Be(stdout.TrimEnd('\r', '\n'));
    }

    [Fact]
    public void An_absent_class_is_printed_as_a_dash_and_the_table_names_the_means()
    {
        using var dir = new TempDirectory();
        var (refs, preds) = HandCase(dir);
        var (code, stdout, stderr) = Run("metrics", "segmentation", "-r", refs, "-p", preds, "--num-classes", "4");
        code.Should().Be(0, stderr);
        stdout.Should().Contain("mIoU 44.44").And.Contain("aAcc 62.50").And.Contain("–");
    }

    [Fact]
    public void Reduce_zero_label_and_a_custom_ignore_index_apply_to_the_references()
    {
        using var dir = new TempDirectory();
        var refs = Directory.CreateDirectory(dir.Combine("refs")).FullName;
        var preds = Directory.CreateDirectory(dir.Combine("preds")).FullName;
        // Labels 0 (ignored), 1→0, 2→1, 3→2, 7 (ignored): pairs (0,0) (1,1) (2,0) → aAcc 2/3, mIoU (1/2 + 1 + 0)/3.
        WritePng(Path.Combine(refs, "x.png"), 1, 5, 0, 1, 2, 3, 7);
        WritePng(Path.Combine(preds, "x.png"), 1, 5, 5, 0, 1, 0, 0);
        var (code, stdout, stderr) = Run("metrics", "segmentation", "-r", refs, "-p", preds, "--reduce-zero-label", "--ignore-index", "7", "--json");
        code.Should().Be(0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        doc.RootElement.GetProperty("num_classes").GetInt32().Should().Be(3);
        doc.RootElement.GetProperty("aAcc").GetDouble().Should().BeApproximately(2.0 / 3, 1e-12);
        doc.RootElement.GetProperty("mIoU").GetDouble().Should().BeApproximately(0.5, 1e-12);
    }

    [Fact]
    public void Bad_masks_are_refused_naming_the_file()
    {
        using var dir = new TempDirectory();
        var (refs, preds) = HandCase(dir);

        File.Delete(Path.Combine(preds, "b.png"));
        var (code, _, stderr) = Run("metrics", "segmentation", "-r", refs, "-p", preds);
        code.Should().Be(1);
        stderr.Should().Contain(Path.Combine(refs, "b.png")).And.Contain("no prediction");

        WritePng(Path.Combine(preds, "b.png"), 1, 4, 1, 2, 0, 0);
        (code, _, stderr) = Run("metrics", "segmentation", "-r", refs, "-p", preds);
        code.Should().Be(1);
        stderr.Should().Contain(Path.Combine(preds, "b.png")).And.Contain("4×1").And.Contain("2×2");

        WritePng(Path.Combine(preds, "b.png"), 2, 2, 1, 2, 0, 0);
        (code, _, stderr) = Run("metrics", "segmentation", "-r", refs, "-p", preds, "--num-classes", "2");
        code.Should().Be(1);
        stderr.Should().Contain(Path.Combine(refs, "a.png")).And.Contain("mask value 2").And.Contain("(x=2, y=1)");

        var rgb = Path.Combine(refs, "b.png");
        File.WriteAllBytes(rgb, SkiaImageCodec.EncodePng(RasterImage.FromBytes(new byte[12], 3, 2, 2)));
        (code, _, stderr) = Run("metrics", "segmentation", "-r", refs, "-p", preds);
        code.Should().Be(1);
        stderr.Should().Contain(rgb).And.Contain("3 bands").And.Contain("single-band");
    }
}
