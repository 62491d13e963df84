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

    /// <summary>The record of <paramref name="dataset"/>, split <paramref name="split"/> of a source of <paramref name="kind"/> configured as <paramref name="config"/>.</summary>
    public static SplitRecord Of(DataSourceOptions config, DataSourceKind kind, string split, IDataset dataset, ulong seed) =>
        new(split, kind.Origin(config, split, seed), dataset.Count, FilesOf(dataset));

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
