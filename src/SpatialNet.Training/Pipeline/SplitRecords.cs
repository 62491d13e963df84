using System.Globalization;
using System.Text.Json.Nodes;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;

namespace SpatialNet.Training.Pipeline;

/// <summary>Where one split of a source came from, how many samples it has and which files it holds.</summary>
/// <param name="Split">The split's name.</param>
/// <param name="Origin">One sentence: e.g. "20% of each class of the training folder /data/chips (stratified, seed 1)".</param>
/// <param name="Samples">Samples in the split.</param>
/// <param name="Files">Its image files relative to the source folder ('/' separators), or null (synthetic scenes).</param>
internal sealed record SplitRecord(string Split, string Origin, int Samples, IReadOnlyList<string>? Files)
{
    /// <summary>The report's line: "val: 20% of each class of … , 40 samples".</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Origin}; {Samples} samples{(Files is { } f && f.Count != Samples ? $" of {f.Count} images" : "")}");

    public JsonObject ToJson() => new()
    {
        ["origin"] = Origin,
        ["samples"] = Samples,
        ["files"] = Files is null ? null : new JsonArray(Files.Select(f => (JsonNode?)f).ToArray()),
    };

    /// <summary>The record of <paramref name="dataset"/>, split <paramref name="split"/> of a source configured as <paramref name="config"/>.</summary>
    public static SplitRecord Of(DataSourceOptions config, string split, IDataset dataset, ulong seed)
    {
        var files = FilesOf(dataset);
        string origin = config.Kind switch
        {
            "image-folder" => ImageFolderOrigin(config, split, seed),
            "synthetic" => SyntheticOrigin(config, split, seed),
            "ucm-caption" => $"the images of {Path.Combine(config.Path!, UcmCaptionDataset.AnnotationFileName)} marked \"split\": \"{split}\"",
            "rsvqa" => $"the {split} files of {config.Path} (the release's split)",
            _ => $"split {split} of {config.Path}",
        };
        return new SplitRecord(split, origin, dataset.Count, files);
    }

    private static string ImageFolderOrigin(DataSourceOptions c, string split, ulong seed)
    {
        static string Pct(double f) => (f * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";
        var fraction = split switch
        {
            "val" => c.ValFraction,
            "test" => c.TestFraction,
            _ => 1 - c.ValFraction - c.TestFraction,
        };
        var held = split == "train" ? "kept for training" : "carved out of the training folder";
        return $"{Pct(fraction)} of each class of {c.Path} {held} (stratified split, seed {seed.ToString(CultureInfo.InvariantCulture)}, val_fraction {c.ValFraction.ToString(CultureInfo.InvariantCulture)}, test_fraction {c.TestFraction.ToString(CultureInfo.InvariantCulture)})";
    }

    private static string SyntheticOrigin(DataSourceOptions c, string split, ulong seed)
    {
        var (first, count) = split switch
        {
            "val" => (c.TrainCount, c.ValCount),
            "test" => (c.TrainCount + c.ValCount, c.TestCount),
            _ => (0, c.TrainCount),
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"synthetic scenes {first}–{first + count - 1} of the generator with seed {c.GeneratorSeed ?? seed}");
    }

    private static List<string>? FilesOf(IDataset dataset)
    {
        switch (dataset)
        {
            case SubsetDataset { Parent: ImageFolderDataset folder } subset:
                return subset.Indices.Select(i => Relative(folder.Root, folder.Entries[i].FilePath)).ToList();
            case ImageFolderDataset folder:
                return folder.Entries.Select(e => Relative(folder.Root, e.FilePath)).ToList();
            case UcmCaptionDataset ucm:
                return ucm.Images.Select(i => Relative(ucm.Root, i.FilePath)).ToList();
            case RsvqaDataset rsvqa:
                return rsvqa.Questions.Select(q => q.ImageId).Distinct().Order()
                    .Select(id => Relative(rsvqa.Root, rsvqa.Images[id].FilePath)).ToList();
            default:
                return null;
        }
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(Path.GetFullPath(root), path).Replace('\\', '/');
}
