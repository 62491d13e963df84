using System.Globalization;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;

namespace SpatialNet.Training.Configuration;

/// <summary><c>image-folder</c>: one sub-folder per class; val and test are stratified, seeded fractions of it.</summary>
internal sealed class ImageFolderSourceKind() : DataSourceKind("image-folder")
{
    public override bool TrainIsTrainingSplit => true;

    public override void Validate(DataSourceOptions config, string at, ConfigCheck check) =>
        check(config.ValFraction is >= 0 and < 1 && config.TestFraction is >= 0 and < 1 && config.ValFraction + config.TestFraction < 1, $"{at}:val_fraction", config.ValFraction,
            $"fractions in [0, 1) whose sum with test_fraction ({config.TestFraction}) is < 1");

    public override SourceContents Open(DataSourceOptions config, int index, int imageSize, int bands, ulong seed)
    {
        var cache = new ImageCache(LoadOptions(config, index, imageSize, bands));
        var all = new ImageFolderDataset(config.Path!, cache);
        var parts = DatasetSplits.Stratified(all.Entries.Select(e => e.ClassIndex).ToArray(),
            [1 - config.ValFraction - config.TestFraction, config.ValFraction, config.TestFraction], seed);
        var train = new SubsetDataset(all, parts[0], all.Name + "/train");
        IDataset? Split(string name) => name switch
        {
            "val" when parts[1].Length > 0 => new SubsetDataset(all, parts[1], all.Name + "/val"),
            "test" when parts[2].Length > 0 => new SubsetDataset(all, parts[2], all.Name + "/test"),
            _ => null,
        };
        return new SourceContents(train, Split) { ClassNames = all.ClassNames };
    }

    public override string Origin(DataSourceOptions config, string split, ulong seed)
    {
        static string Pct(double f) => (f * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";
        var fraction = split switch
        {
            "val" => config.ValFraction,
            "test" => config.TestFraction,
            _ => 1 - config.ValFraction - config.TestFraction,
        };
        var held = split == "train" ? "kept for training" : "carved out of the training folder";
        return $"{Pct(fraction)} of each class of {config.Path} {held} (stratified split, seed {seed.ToString(CultureInfo.InvariantCulture)}, val_fraction {config.ValFraction.ToString(CultureInfo.InvariantCulture)}, test_fraction {config.TestFraction.ToString(CultureInfo.InvariantCulture)})";
    }
}
