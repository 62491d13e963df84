using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;

namespace SpatialNet.Training.Configuration;

/// <summary><c>segmentation</c>: mmsegmentation's img_dir/ann_dir layout, one split per sub-folder, classes.json optional.</summary>
internal sealed class SegmentationSourceKind() : DataSourceKind("segmentation")
{
    public override bool TrainIsTrainingSplit => true;

    public override void Validate(DataSourceOptions config, string at, ConfigCheck check)
    {
        check(config.IgnoreIndex is >= 0 and <= 255, $"{at}:ignore_index", config.IgnoreIndex, "an integer in [0, 255]");
        check(config.NoData is null || config.TargetsAreValues, $"{at}:no_data", config.NoData, "set only with targets_are_values: true");
    }

    public override SourceContents Open(DataSourceOptions config, int index, int imageSize, int bands, ulong seed)
    {
        var options = new SegmentationFolderOptions
        {
            Image = new ImageLoadOptions { ExpectedBands = bands },
            IgnoreIndex = config.IgnoreIndex,
            ReduceZeroLabel = config.ReduceZeroLabel,
            TargetsAreValues = config.TargetsAreValues,
            NoData = config.NoData,
            Height = imageSize,
            Width = imageSize,
        };
        var train = new SegmentationFolderDataset(config.Path!, "train", options);
        var splits = SegmentationFolderDataset.Splits(config.Path!);
        if (config.TargetsAreValues)
            return new SourceContents(train, name => splits.Contains(name) ? new SegmentationFolderDataset(config.Path!, name, options) : null);
        options = options with { NumClasses = train.NumClasses };
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
