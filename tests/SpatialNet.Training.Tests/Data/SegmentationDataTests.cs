using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Tests.Cli;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Transforms;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Data;

/// <summary>The mmsegmentation folder layout, its bad masks, and transforms that move image and mask together.</summary>
public sealed class SegmentationDataTests
{
    private static void WriteRgb(string path, int height, int width) =>
        File.WriteAllBytes(path, SkiaImageCodec.EncodePng(RasterImage.FromBytes(
            [.. Enumerable.Range(0, 3 * height * width).Select(i => (byte)(i * 7))], 3, height, width)));

    private static TempDirectory Layout(params string[] splits)
    {
        var dir = new TempDirectory();
        foreach (var split in splits)
        {
            Directory.CreateDirectory(dir.Combine("img_dir", split));
            Directory.CreateDirectory(dir.Combine("ann_dir", split));
        }
        return dir;
    }

    private static long[] Values(Tensor t) => t.to(ScalarType.Int64).data<long>().ToArray();

    [Fact]
    public void Reads_png_and_geotiff_masks_with_classes_json()
    {
        using var dir = Layout("train");
        WriteRgb(dir.Combine("img_dir", "train", "a.png"), 2, 3);
        SegmentationMetricsCliTests.WritePng(dir.Combine("ann_dir", "train", "a.png"), 2, 3, 0, 1, 2, 255, 1, 0);
        WriteRgb(dir.Combine("img_dir", "train", "b.png"), 2, 2);
        SegmentationMetricsCliTests.WritePaletteTiff(dir.Combine("ann_dir", "train", "b.tif"), 2, 2, 2, 2, 0, 1);
        File.WriteAllText(dir.Combine("classes.json"), """{"classes": ["background", "building", "water"], "palette": [[0,0,0],[255,0,0],[0,0,255]]}""");

        var data = new SegmentationFolderDataset(dir.Path, "train");
        data.Count.Should().Be(2);
        data.NumClasses.Should().Be(3);
        data.ClassNames.Should().Equal("background", "building", "water");
        data.Classes!.Palette![1].Should().Be(((byte)255, (byte)0, (byte)0));
        using (var a = data.GetSample(0))
        {
            a[SampleKeys.Image].shape.Should().Equal(3, 2, 3);
            a[SampleKeys.Mask].shape.Should().Equal(2, 3);
            a[SampleKeys.Mask].dtype.Should().Be(ScalarType.Int64);
            Values(a[SampleKeys.Mask]).Should().Equal(0, 1, 2, 255, 1, 0);
        }
        using var b = data.GetSample(1);
        Values(b[SampleKeys.Mask]).Should().Equal(2, 2, 0, 1);
    }

    [Fact]
    public void Reduce_zero_label_ignores_zero_and_shifts_classes_and_classes_are_inferred_from_train_masks()
    {
        using var dir = Layout("train");
        WriteRgb(dir.Combine("img_dir", "train", "a.png"), 1, 5);
        SegmentationMetricsCliTests.WritePng(dir.Combine("ann_dir", "train", "a.png"), 1, 5, 0, 1, 2, 3, 255);
        var plain = new SegmentationFolderDataset(dir.Path, "train");
        plain.NumClasses.Should().Be(4);
        var reduced = new SegmentationFolderDataset(dir.Path, "train", new SegmentationFolderOptions { ReduceZeroLabel = true });
        reduced.NumClasses.Should().Be(3);
        using var s = reduced.GetSample(0);
        Values(s[SampleKeys.Mask]).Should().Equal(255, 0, 1, 2, 255);
    }

    [Fact]
    public void Masks_are_resized_by_nearest_neighbour_with_the_image()
    {
        using var dir = Layout("train");
        WriteRgb(dir.Combine("img_dir", "train", "a.png"), 2, 2);
        SegmentationMetricsCliTests.WritePng(dir.Combine("ann_dir", "train", "a.png"), 2, 2, 0, 1, 2, 255);
        var data = new SegmentationFolderDataset(dir.Path, "train", new SegmentationFolderOptions { NumClasses = 3, Height = 4, Width = 4 });
        using var s = data.GetSample(0);
        s[SampleKeys.Image].shape.Should().Equal(3, 4, 4);
        Values(s[SampleKeys.Mask]).Should().Equal(0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 255, 255, 2, 2, 255, 255);
    }

    [Fact]
    public void Bad_masks_are_refused_naming_the_file()
    {
        using var dir = Layout("train", "val");
        WriteRgb(dir.Combine("img_dir", "train", "a.png"), 2, 2);
        SegmentationMetricsCliTests.WritePng(dir.Combine("ann_dir", "train", "a.png"), 2, 2, 0, 1, 1, 0);
        File.WriteAllText(dir.Combine("classes.json"), """{"classes": ["a", "b"]}""");

        WriteRgb(dir.Combine("img_dir", "val", "missing.png"), 2, 2);
        var missing = () => new SegmentationFolderDataset(dir.Path, "val");
        missing.Should().Throw<DatasetFileNotFoundException>().Where(e => e.Message.Contains(dir.Combine("img_dir", "val", "missing.png")) && e.Message.Contains("no mask"));

        var mask = dir.Combine("ann_dir", "val", "missing.png");
        SegmentationMetricsCliTests.WritePng(mask, 1, 2, 0, 1);
        var size = () => new SegmentationFolderDataset(dir.Path, "val").GetSample(0);
        size.Should().Throw<DatasetFormatException>().Where(e => e.Message.Contains(mask) && e.Message.Contains("2×1") && e.Message.Contains("2×2"));

        SegmentationMetricsCliTests.WritePng(mask, 2, 2, 0, 1, 5, 255);
        var range = () => new SegmentationFolderDataset(dir.Path, "val").GetSample(0);
        range.Should().Throw<DatasetFormatException>().Where(e => e.Message.Contains(mask) && e.Message.Contains("mask value 5 at (x=0, y=1)"));

        File.WriteAllBytes(mask, SkiaImageCodec.EncodePng(RasterImage.FromBytes(new byte[12], 3, 2, 2)));
        var rgb = () => new SegmentationFolderDataset(dir.Path, "val").GetSample(0);
        rgb.Should().Throw<ImageDecodeException>().Where(e => e.Message.Contains(mask) && e.Message.Contains("3 bands"));

        var noSplit = () => new SegmentationFolderDataset(dir.Path, "test");
        noSplit.Should().Throw<DatasetFileNotFoundException>().Where(e => e.Message.Contains(dir.Combine("img_dir", "test")));
    }

    /// <summary>A batch whose image channel 0 repeats the mask, so any mismatch between the two transforms shows.</summary>
    private static Batch Paired(int n, int h, int w)
    {
        var mask = arange(n * h * w, ScalarType.Int64).reshape(n, h, w);
        var image = stack([mask.to(ScalarType.Float32), zeros(n, h, w), ones(n, h, w)], 1);
        var batch = new Batch();
        batch.Set(SampleKeys.Image, image);
        batch.Set(SampleKeys.Mask, mask);
        return batch;
    }

    [Fact]
    public void Flips_and_rotations_move_image_and_mask_together()
    {
        using var batch = Paired(16, 4, 4);
        using var before = batch[SampleKeys.Mask].clone();
        using var flip = new RandomFlipRotate(7, keys: [SampleKeys.Image, SampleKeys.Mask]);
        flip.Apply(batch);
        batch[SampleKeys.Mask].dtype.Should().Be(ScalarType.Int64);
        batch[SampleKeys.Image][.., 0].to(ScalarType.Int64).eq(batch[SampleKeys.Mask]).all().item<bool>().Should().BeTrue();
        batch[SampleKeys.Mask].eq(before).all().item<bool>().Should().BeFalse("16 draws of 8 transforms leave some sample changed");
        // Each sample's values are a permutation of its own pixels.
        batch[SampleKeys.Mask].sort(-1).Values.sort(-2).Values.sum().item<long>().Should().Be(before.sum().item<long>());
    }

    [Fact]
    public void Random_crops_take_the_same_window_of_image_and_mask()
    {
        using var batch = Paired(8, 6, 5);
        var crop = new RandomCrop(3, 2, seed: 11);
        crop.Apply(batch);
        var mask = batch[SampleKeys.Mask];
        mask.shape.Should().Equal(8, 3, 2);
        batch[SampleKeys.Image].shape.Should().Equal(8, 3, 3, 2);
        batch[SampleKeys.Image][.., 0].to(ScalarType.Int64).eq(mask).all().item<bool>().Should().BeTrue();
        var offsets = new HashSet<long>();
        for (int i = 0; i < 8; i++)
        {
            // Pixel (y, x) of sample i held i·30 + y·5 + x: the crop is a window at (y0, x0) inside the image.
            long top = mask[i, 0, 0].item<long>() - i * 30;
            long y0 = top / 5, x0 = top % 5;
            (y0 <= 3 && x0 <= 3).Should().BeTrue();
            offsets.Add(top);
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 2; x++)
                    mask[i, y, x].item<long>().Should().Be(i * 30 + (y0 + y) * 5 + x0 + x);
        }
        offsets.Count.Should().BeGreaterThan(1);
    }

    [Fact]
    public void Nearest_resize_copies_mask_values()
    {
        using var batch = new Batch();
        batch.Set(SampleKeys.Mask, tensor(new long[] { 0, 1, 2, 255 }, [1, 2, 2]));
        new Resize(4, 4, key: SampleKeys.Mask) { Nearest = true }.Apply(batch);
        batch[SampleKeys.Mask].dtype.Should().Be(ScalarType.Int64);
        Values(batch[SampleKeys.Mask]).Should().Equal(0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 255, 255, 2, 2, 255, 255);
    }

    [Fact]
    public void Synthetic_segmentation_set_has_three_splits_and_masks_on_the_object_footprints()
    {
        using var dir = new TempDirectory();
        using var o = new StringWriter();
        using var e = new StringWriter();
        SpatialNet.Cli.Cli.Run(["synthetic", "--format", "segmentation", "--out", dir.Path, "--count", "10", "--size", "32"], o, e).Should().Be(0, e.ToString());
        o.ToString().Should().Contain("train 8, val 1, test 1");
        SegmentationFolderDataset.Splits(dir.Path).Should().Equal("test", "train", "val");
        var train = new SegmentationFolderDataset(dir.Path, "train");
        train.Count.Should().Be(8);
        train.ClassNames.Should().Equal("background", "building", "tree", "water_area", "road");
        new SegmentationFolderDataset(dir.Path, "val").Count.Should().Be(1);
        // Buildings are painted red and water blue: the mask must sit on those colours.
        double[] redMinusBlue = new double[5];
        long[] pixels = new long[5];
        for (int i = 0; i < train.Count; i++)
        {
            using var sample = train.GetSample(i);
            var image = sample[SampleKeys.Image].to(ScalarType.Float32);
            var mask = sample[SampleKeys.Mask];
            for (int c = 0; c < 5; c++)
            {
                using var where = mask.eq(c);
                pixels[c] += where.sum().item<long>();
                redMinusBlue[c] += (image[0] - image[2]).masked_select(where).sum().item<float>();
            }
        }
        pixels[1].Should().BeGreaterThan(0);
        pixels[3].Should().BeGreaterThan(0);
        (redMinusBlue[1] / pixels[1]).Should().BeGreaterThan(50, "building pixels are red");
        (redMinusBlue[3] / pixels[3]).Should().BeLessThan(-50, "water pixels are blue");
    }
}
