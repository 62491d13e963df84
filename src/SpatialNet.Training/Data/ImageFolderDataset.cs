using SpatialNet.Training.Imaging;
using static TorchSharp.torch;

namespace SpatialNet.Training.Data;

/// <summary>One file of an <see cref="ImageFolderDataset"/>.</summary>
/// <param name="FilePath">Full path.</param>
/// <param name="ClassIndex">Index of its folder in the sorted class list.</param>
public sealed record ImageFolderEntry(string FilePath, int ClassIndex);

/// <summary>
/// Plain classification from the UC Merced layout <c>root/&lt;class&gt;/&lt;name&gt;.tif</c> (any of
/// .tif .tiff .png .jpg .jpeg). Classes are the sub-folder names in ordinal order; files are in
/// ordinal order within a class. Samples: "image" uint8 [C,H,W], "label", "index". There is no official
/// split: use <see cref="DatasetSplits.Stratified"/> with <see cref="Labels"/>.
/// </summary>
public sealed class ImageFolderDataset : IDataset
{
    private readonly ImageFolderEntry[] _entries;

    /// <summary>Scans the folder.</summary>
    /// <exception cref="DatasetFileNotFoundException">The root folder does not exist.</exception>
    /// <exception cref="DatasetFormatException">There are no class folders, or no image files.</exception>
    public ImageFolderDataset(string root, ImageCache? cache = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root)) throw new DatasetFileNotFoundException(root, null, "image folder dataset root not found.");
        Root = root;
        Name = name ?? $"image-folder/{Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)))}";
        Cache = cache ?? new ImageCache();
        ClassNames = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (ClassNames.Count == 0) throw new DatasetFormatException(root, "<class>/", "no class sub-folders found (expected root/<class>/<image>).");
        var entries = new List<ImageFolderEntry>();
        for (var c = 0; c < ClassNames.Count; c++)
        {
            var files = Directory.GetFiles(Path.Combine(root, ClassNames[c]))
                .Where(f => ImageDecoder.KnownExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal);
            entries.AddRange(files.Select(f => new ImageFolderEntry(Path.GetFullPath(f), c)));
        }
        if (entries.Count == 0)
            throw new DatasetFormatException(root, "<class>/<image>", $"no image files ({string.Join(" ", ImageDecoder.KnownExtensions)}) in any class folder.");
        _entries = entries.ToArray();
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The root folder.</summary>
    public string Root { get; }

    /// <summary>Class names (index = label).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The decoded-image cache.</summary>
    public ImageCache Cache { get; }

    /// <summary>The files, class by class.</summary>
    public IReadOnlyList<ImageFolderEntry> Entries => _entries;

    /// <summary>The label of every sample, for stratified splits.</summary>
    public IReadOnlyList<int> Labels => _entries.Select(e => e.ClassIndex).ToArray();

    /// <inheritdoc/>
    public int Count => _entries.Length;

    /// <summary>Per-band statistics over all images.</summary>
    public NormalizationStatistics ComputeNormalizationStatistics() =>
        NormalizationStatistics.Compute(_entries.Select(e => Cache.Load(e.FilePath)));

    /// <inheritdoc/>
    public Sample GetSample(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _entries.Length);
        var entry = _entries[index];
        var sample = new Sample();
        try
        {
            sample.Set(SampleKeys.Image, Cache.LoadTensor(entry.FilePath));
            sample.Set(SampleKeys.Label, tensor((long)entry.ClassIndex));
            sample.Set(SampleKeys.Index, tensor((long)index));
            return sample;
        }
        catch
        {
            sample.Dispose();
            throw;
        }
    }
}
