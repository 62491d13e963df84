using FluentAssertions;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Imaging;

public sealed class ImageCacheTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Decodes_once_and_returns_the_cached_array()
    {
        var path = _dir.Combine("a.tif");
        TestTiff.Write(path, 6, 4, 3, 8, tiled: false, planar: false);
        var cache = new ImageCache();

        var first = cache.Load(path);
        File.Delete(path); // a second decode would now fail
        var second = cache.Load(path);

        second.Should().BeSameAs(first);
        cache.Count.Should().Be(1);
        cache.MemoryBytes.Should().Be(3 * 6 * 4);
    }

    [Fact]
    public void Disk_cache_serves_a_new_process_without_decoding()
    {
        var path = _dir.Combine("b.tif");
        TestTiff.Write(path, 5, 5, 2, 16, tiled: true, planar: true);
        var options = new ImageLoadOptions { Scaling = SixteenBitScaling.FullRange };
        var expected = new ImageCache(options, _dir.Combine("cache")).Load(path);

        // Same file, same options, fresh cache object: read from disk, byte for byte the same.
        var again = new ImageCache(options, _dir.Combine("cache")).Load(path);

        again.Pixels8.Should().Equal(expected.Pixels8);
        Directory.GetFiles(_dir.Combine("cache"), "*.u8").Should().HaveCount(1);
        // 16-bit values scaled with round(v/257).
        again[1, 4, 4].Should().Be((int)Math.Round(TestTiff.Value(16, 1, 4, 4) / 257.0, MidpointRounding.AwayFromZero));
    }

    [Fact]
    public void Selects_bands_and_resizes_when_asked()
    {
        var path = _dir.Combine("c.tif");
        TestTiff.Write(path, 8, 8, 5, 8, tiled: false, planar: false);
        var cache = new ImageCache(new ImageLoadOptions { SelectBands = [4, 0], ExpectedBands = 2, Height = 4, Width = 4 });

        var image = cache.Load(path);

        image.Channels.Should().Be(2);
        (image.Height, image.Width).Should().Be((4, 4));
        // Band 4 is the ramp 148 + 11y + 3x. PyTorch's antialiased bilinear halving uses a triangle of
        // radius 2 (input pixels) around continuous coordinate 2·(i + 0.5); input pixel j sits at j + 0.5.
        // Output 0 (centre 1.0): inputs 0, 1, 2 weigh 0.75, 0.75, 0.25 (input −1 is outside, so the
        // weights are renormalised by 1.75); mean index (0·0.75 + 1·0.75 + 2·0.25)/1.75 = 5/7 per axis:
        // 148 + 14·5/7 = 158.
        image[0, 0, 0].Should().Be(158);
        // Output 1 (centre 3.0): inputs 1..4 weigh 0.25, 0.75, 0.75, 0.25; mean index 2.5: 148 + 14·2.5 = 183.
        image[0, 1, 1].Should().Be(183);
    }

    [Fact]
    public void Normalisation_statistics_match_a_hand_computation()
    {
        // Band 0: 0, 255 → mean 0.5, population std 0.5. Band 1: 51, 51 → mean 0.2, std 0 → 1/255.
        var image = RasterImage.FromBytes([0, 255, 51, 51], 2, 1, 2);

        var stats = NormalizationStatistics.Compute([image]);

        stats.Mean[0].Should().BeApproximately(0.5, 1e-15);
        stats.Std[0].Should().BeApproximately(0.5, 1e-15);
        stats.Mean[1].Should().BeApproximately(0.2, 1e-15);
        stats.Std[1].Should().BeApproximately(1 / 255.0, 1e-15);

        var file = _dir.Combine("stats.json");
        stats.Save(file);
        var loaded = NormalizationStatistics.Load(file);
        loaded.Mean.Should().Equal(stats.Mean);
        loaded.Std.Should().Equal(stats.Std);
        loaded.PixelCount.Should().Be(2);
    }
}
