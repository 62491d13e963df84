using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;

namespace SpatialNet.Training.Configuration;

/// <summary><c>segmentation</c>: mmsegmentation's img_dir/ann_dir layout, one split per sub-folder, classes.json optional.</summary>
internal sealed class SegmentationSourceKind() : DataSourceKind("segmentation")
{
    public override bool TrainIsTrainingSplit => true;

    public override void Validate(DataSourceOptions config, string at, ConfigCheck check) =>
        check(config.IgnoreIndex is >= 0 and <= 255, $"{at}:ignore_index", config.IgnoreIndex, "an integer in [0, 255]");

    public override SourceContents Open(DataSourceOptions config, int index, int imageSize, int bands, ulong seed)
    {
        var options = new SegmentationFolderOptions
        {
            Image = new ImageLoadOptions { ExpectedBands = bands },
            IgnoreIndex = config.IgnoreIndex,
            ReduceZeroLabel = config.ReduceZeroLabel,
            Height = imageSize,
            Width = imageSize,
        };
        var train = new SegmentationFolderDataset(config.Path!, "train", options);
        options = options with { NumClasses = train.NumClasses };
        var splits = SegmentationFolderDataset.Splits(config.Path!);
        return new SourceContents(train, name => splits.Contains(name) ? new SegmentationFolderDataset(config.Path!, name, options) : null)
        {
            ClassNames = train.ClassNames,
            Segmentation = train.Classes,
        };
    }

    public override IReadOnlyList<(byte R, byte G, byte B)>? Palette(DataSourceOptions config) =>
        config.Path is { } root && File.Exists(Path.Combine(root, SegmentationClasses.FileName))
            ? SegmentationClasses.Read(Path.Combine(root, SegmentationClasses.FileName)).Palette
            : null;
}
