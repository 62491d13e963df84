using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Data;

public sealed class ImageFolderDatasetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Classes_are_sorted_folder_names_and_files_of_any_supported_format_load()
    {
        foreach (var cls in new[] { "forest", "beach" })
        {
            Directory.CreateDirectory(_dir.Combine(cls));
            for (var i = 0; i < 3; i++)
                TestTiff.WriteRgb(_dir.Combine(cls, $"{cls}{i:00}.tif"), Enumerable.Repeat((byte)(cls[0] + i), 12).ToArray(), 2, 2);
        }
        var png = RasterImage.FromBytes(Enumerable.Repeat((byte)9, 12).ToArray(), 3, 2, 2);
        File.WriteAllBytes(_dir.Combine("forest", "extra.png"), SkiaImageCodec.EncodePng(png));
        File.WriteAllText(_dir.Combine("forest", "notes.txt"), "not an image");

        var dataset = new ImageFolderDataset(_dir.Path);

        dataset.ClassNames.Should().Equal("beach", "forest");
        dataset.Count.Should().Be(7);
        dataset.Labels.Should().Equal(0, 0, 0, 1, 1, 1, 1);
        using var sample = dataset.GetSample(3); // forest/extra.png sorts before forest00.tif
        sample[SampleKeys.Label].item<long>().Should().Be(1);
        sample[SampleKeys.Image][1, 1, 1].item<byte>().Should().Be(9);
    }

    [Fact]
    public void Stratified_splits_keep_every_class_in_every_part()
    {
        int[] labels = [.. Enumerable.Repeat(0, 10), .. Enumerable.Repeat(1, 20)];

        var parts = DatasetSplits.Stratified(labels, [0.8, 0.2], seed: 5);

        parts[0].Length.Should().Be(24);
        parts[1].Length.Should().Be(6);
        parts[1].Count(i => labels[i] == 0).Should().Be(2);
        parts[1].Count(i => labels[i] == 1).Should().Be(4);
        parts[0].Concat(parts[1]).Should().OnlyHaveUniqueItems().And.HaveCount(30);
        DatasetSplits.Stratified(labels, [0.8, 0.2], seed: 5)[1].Should().Equal(parts[1]);
    }

    [Fact]
    public void Empty_root_is_a_format_error()
    {
        FluentActions.Invoking(() => new ImageFolderDataset(_dir.Path)).Should().Throw<DatasetFormatException>()
            .Which.FilePath.Should().Be(_dir.Path);
        FluentActions.Invoking(() => new ImageFolderDataset(_dir.Combine("none"))).Should().Throw<DatasetFileNotFoundException>();
    }
}
