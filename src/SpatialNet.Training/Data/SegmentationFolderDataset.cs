using System.Collections.Concurrent;
using System.Text.Json;
using SpatialNet.Training.Imaging;
using static TorchSharp.torch;

namespace SpatialNet.Training.Data;

/// <summary>Class names and colours of a segmentation dataset (mmsegmentation's <c>classes</c> and <c>palette</c>).</summary>
/// <param name="Names">Class names, index = class.</param>
/// <param name="Palette">One RGB colour per class, or null.</param>
internal sealed record SegmentationClasses(IReadOnlyList<string> Names, IReadOnlyList<(byte R, byte G, byte B)>? Palette)
{
    /// <summary>File name of the optional class list at the dataset root.</summary>
    public const string FileName = "classes.json";

    /// <summary>Reads <c>{"classes": [names], "palette": [[r, g, b], …]}</c> (palette optional); errors name the file and key.</summary>
    public static SegmentationClasses Read(string path)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex) { throw new DatasetFormatException(path, null, $"malformed JSON ({ex.Message}).", ex); }
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("classes", out var classes) || classes.ValueKind != JsonValueKind.Array)
            throw new DatasetFormatException(path, "classes", "expected an object with a \"classes\" array of names.");
        var names = new List<string>();
        foreach (var c in classes.EnumerateArray())
            names.Add(c.ValueKind == JsonValueKind.String && c.GetString() is { Length: > 0 } s
                ? s : throw new DatasetFormatException(path, $"classes[{names.Count}]", "not a non-empty string."));
        if (names.Count is 0 or > 255)
            throw new DatasetFormatException(path, "classes", $"{names.Count} classes; between 1 and 255 are supported (255 is the ignore value).");
        if (!root.TryGetProperty("palette", out var palette) || palette.ValueKind == JsonValueKind.Null)
            return new SegmentationClasses(names, null);
        if (palette.ValueKind != JsonValueKind.Array || palette.GetArrayLength() != names.Count)
            throw new DatasetFormatException(path, "palette", $"expected {names.Count} colours [r, g, b], one per class.");
        var colours = new List<(byte, byte, byte)>();
        foreach (var rgb in palette.EnumerateArray())
        {
            if (rgb.ValueKind != JsonValueKind.Array || rgb.GetArrayLength() != 3 || rgb.EnumerateArray().Any(v => !v.TryGetByte(out _)))
                throw new DatasetFormatException(path, $"palette[{colours.Count}]", "expected [r, g, b] with integers in 0–255.");
            colours.Add((rgb[0].GetByte(), rgb[1].GetByte(), rgb[2].GetByte()));
        }
        return new SegmentationClasses(names, colours);
    }
}

/// <summary>How a <see cref="SegmentationFolderDataset"/> reads its files.</summary>
internal sealed record SegmentationFolderOptions
{
    /// <summary>How images are decoded (bands, 16-bit scaling); must not resize (use <see cref="Height"/>/<see cref="Width"/>).</summary>
    public ImageLoadOptions Image { get; init; } = new();

    /// <summary>Number of classes; null: from <c>classes.json</c>, else the largest label of the training masks + 1.</summary>
    public int? NumClasses { get; init; }

    /// <summary>Mask value of pixels without a label.</summary>
    public int IgnoreIndex { get; init; } = 255;

    /// <summary>Mask value 0 means "no label": it is ignored and the other values shift down by one.</summary>
    public bool ReduceZeroLabel { get; init; }

    /// <summary>Annotation rasters hold per-pixel values (K bands, float32/uint16/uint8), not class indices; samples carry "values" float32 <c>[K, H, W]</c>.</summary>
    public bool TargetsAreValues { get; init; }

    /// <summary>With <see cref="TargetsAreValues"/>: this value (besides NaN) marks an invalid pixel; samples carry NaN there.</summary>
    public double? NoData { get; init; }

    /// <summary>If set (with <see cref="Width"/>), images are resized bilinearly and masks by nearest neighbour to this size.</summary>
    public int? Height { get; init; }

    /// <summary>If set (with <see cref="Height"/>), the width images and masks are resized to.</summary>
    public int? Width { get; init; }
}

/// <summary>
/// Semantic segmentation in mmsegmentation's custom layout: <c>root/img_dir/{split}/NAME.{png,jpg,tif}</c> and
/// <c>root/ann_dir/{split}/NAME.{png,tif}</c> (single-band class indices, same size as the image; GeoTIFF
/// masks on the image's grid), an optional <c>root/classes.json</c>. Samples: "image" uint8 <c>[C, H, W]</c>,
/// "mask" int64 <c>[H, W]</c> (classes in [0, C) or the ignore value, after <c>reduce_zero_label</c>), "index".
/// </summary>
internal sealed class SegmentationFolderDataset : IDataset
{
    private readonly (string Image, string Mask)[] _entries;
    private readonly ImageCache _cache;
    private readonly ConcurrentDictionary<int, byte[]> _masks = new();
    private readonly ConcurrentDictionary<int, (int Bands, float[] Values)> _values = new();

    /// <summary>Scans one split; every image must have its mask.</summary>
    /// <exception cref="DatasetFileNotFoundException">The root or split folder does not exist, or an image has no mask.</exception>
    /// <exception cref="DatasetFormatException">The split has no image, classes.json is malformed, or (when classes are inferred) a training mask is bad.</exception>
    public SegmentationFolderDataset(string root, string split, SegmentationFolderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(split);
        Options = options ?? new SegmentationFolderOptions();
        if (Options.Image.Height is not null)
            throw new ArgumentException("SegmentationFolderOptions.Image must not resize; set SegmentationFolderOptions.Height and Width.", nameof(options));
        if ((Options.Height is null) != (Options.Width is null) || Options.Height is <= 0 || Options.Width is <= 0)
            throw new ArgumentException($"SegmentationFolderOptions.Height and Width go together and are positive; got {Options.Height}×{Options.Width}.", nameof(options));
        if (Options.IgnoreIndex is < 0 or > 255)
            throw new ArgumentException($"SegmentationFolderOptions.IgnoreIndex must be in 0–255; got {Options.IgnoreIndex}.", nameof(options));
        if (!Directory.Exists(root)) throw new DatasetFileNotFoundException(root, null, "segmentation dataset root not found.");
        Root = root;
        Split = split;
        Name = $"segmentation/{Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)))}/{split}";
        _cache = new ImageCache(Options.Image);
        _entries = Scan(root, split);
        var classesFile = Path.Combine(root, SegmentationClasses.FileName);
        if (Options.TargetsAreValues) return;
        Classes = File.Exists(classesFile) ? SegmentationClasses.Read(classesFile) : null;
        if (Options.NumClasses is { } n && Classes is not null && n != Classes.Names.Count)
            throw new DatasetFormatException(classesFile, "classes", $"{Classes.Names.Count} classes, but {n} were configured.");
        NumClasses = Options.NumClasses ?? Classes?.Names.Count ?? InferNumClasses(root, Options);
    }

    /// <summary>The dataset root.</summary>
    public string Root { get; }

    /// <summary>The split read (a sub-folder of img_dir and ann_dir).</summary>
    public string Split { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The options.</summary>
    public SegmentationFolderOptions Options { get; }

    /// <summary>Names and palette from classes.json, or null.</summary>
    public SegmentationClasses? Classes { get; }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Class names: from classes.json, else "class_0", "class_1", ….</summary>
    public IReadOnlyList<string> ClassNames => Classes?.Names ?? [.. Enumerable.Range(0, NumClasses).Select(i => $"class_{i}")];

    /// <summary>(image, mask) paths in name order.</summary>
    public IReadOnlyList<(string Image, string Mask)> Entries => _entries;

    /// <inheritdoc/>
    public int Count => _entries.Length;

    /// <summary>The splits present under img_dir.</summary>
    public static IReadOnlyList<string> Splits(string root) =>
        Directory.Exists(Path.Combine(root, "img_dir"))
            ? [.. Directory.GetDirectories(Path.Combine(root, "img_dir")).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];

    /// <summary>Per-band statistics over all images of the split.</summary>
    public NormalizationStatistics ComputeNormalizationStatistics() =>
        NormalizationStatistics.Compute(_entries.Select(e => _cache.Load(e.Image)));

    /// <inheritdoc/>
    public Sample GetSample(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _entries.Length);
        var (imagePath, _) = _entries[index];
        var image = _cache.Load(imagePath);
        if (Options.TargetsAreValues) return ValueSample(index, image);
        var mask = _masks.GetOrAdd(index, i => LoadMask(i, image.Height, image.Width));
        int h = image.Height, w = image.Width;
        if (Options.Height is { } th && Options.Width is { } tw && (th != h || tw != w))
        {
            image = ImageResampler.Resize(image, th, tw);
            mask = ResizeNearest<byte>(mask, h, w, th, tw);
            (h, w) = (th, tw);
        }
        var sample = new Sample();
        try
        {
            sample.Set(SampleKeys.Image, image.ToTensor());
            using (var bytes = tensor(mask, [h, w], ScalarType.Byte)) sample.Set(SampleKeys.Mask, bytes.to(ScalarType.Int64));
            sample.Set(SampleKeys.Index, tensor((long)index));
            return sample;
        }
        catch
        {
            sample.Dispose();
            throw;
        }
    }

    private Sample ValueSample(int index, RasterImage image)
    {
        var (bands, values) = _values.GetOrAdd(index, i => LoadValues(i, image.Height, image.Width));
        int h = image.Height, w = image.Width;
        if (Options.Height is { } th && Options.Width is { } tw && (th != h || tw != w))
        {
            image = ImageResampler.Resize(image, th, tw);
            var resized = new float[bands * th * tw];
            for (int b = 0; b < bands; b++)
                ResizeNearest(values.AsSpan(b * h * w, h * w), h, w, th, tw).CopyTo(resized.AsSpan(b * th * tw));
            (values, h, w) = (resized, th, tw);
        }
        var sample = new Sample();
        try
        {
            sample.Set(SampleKeys.Image, image.ToTensor());
            sample.Set(SampleKeys.Values, tensor(values, [bands, h, w], ScalarType.Float32));
            sample.Set(SampleKeys.Index, tensor((long)index));
            return sample;
        }
        catch
        {
            sample.Dispose();
            throw;
        }
    }

    /// <summary>Reads the value raster of entry <paramref name="index"/>, planar <c>[K, H, W]</c>; NaN and <see cref="SegmentationFolderOptions.NoData"/> become NaN.</summary>
    private (int Bands, float[] Values) LoadValues(int index, int height, int width)
    {
        var (imagePath, path) = _entries[index];
        int bands, h, w;
        float[] values;
        Span<byte> header = stackalloc byte[8];
        using (var stream = File.OpenRead(path)) header = header[..stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false)];
        if (ImageDecoder.DetectFormat(header) == ImageFileFormat.Tiff)
        {
            using var reader = GeoTiffReader.Open(path, paletteIndices: true);
            (bands, h, w) = (reader.BandCount, reader.Height, reader.Width);
            values = new float[(long)bands * h * w];
            reader.ReadWindow(0, 0, w, h, [.. Enumerable.Range(0, bands)], values);
        }
        else
        {
            var raster = ImageDecoder.Decode(path);
            (bands, h, w) = (raster.Channels, raster.Height, raster.Width);
            values = raster.Pixels8 is { } p8 ? [.. p8.Select(v => (float)v)] : [.. raster.Pixels16!.Select(v => (float)v)];
        }
        if (h != height || w != width)
            throw new DatasetFormatException(path, "size", $"the value raster is {w}×{h} but its image {imagePath} is {width}×{height}.");
        if (Options.NoData is { } noData)
            for (int i = 0; i < values.Length; i++)
                if (values[i] == (float)noData) values[i] = float.NaN;
        return (bands, values);
    }

    /// <summary>Reads and checks the mask of entry <paramref name="index"/>; values after reduce_zero_label, ignore as 255.</summary>
    private byte[] LoadMask(int index, int height, int width)
    {
        var (imagePath, maskPath) = _entries[index];
        var mask = LabelMask.Read(maskPath);
        if (mask.Height != height || mask.Width != width)
            throw new DatasetFormatException(maskPath, "size", $"the mask is {mask.Width}×{mask.Height} but its image {imagePath} is {width}×{height}.");
        mask.CheckClasses(maskPath, NumClasses, Options.IgnoreIndex, Options.ReduceZeroLabel);
        var bytes = new byte[mask.Values.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            int v = mask.Values[i];
            bytes[i] = v == Options.IgnoreIndex || (Options.ReduceZeroLabel && v == 0) ? (byte)255 : (byte)(Options.ReduceZeroLabel ? v - 1 : v);
        }
        return bytes;
    }

    /// <summary>Nearest-neighbour resize as PyTorch's <c>interpolate(mode="nearest")</c>: source index ⌊dst · in / out⌋.</summary>
    internal static T[] ResizeNearest<T>(ReadOnlySpan<T> mask, int height, int width, int newHeight, int newWidth)
    {
        var result = new T[newHeight * newWidth];
        for (int y = 0; y < newHeight; y++)
        {
            int sy = Math.Min(height - 1, (int)Math.Floor(y * (double)height / newHeight));
            for (int x = 0; x < newWidth; x++)
                result[y * newWidth + x] = mask[sy * width + Math.Min(width - 1, (int)Math.Floor(x * (double)width / newWidth))];
        }
        return result;
    }

    private static (string, string)[] Scan(string root, string split)
    {
        var imageDir = Path.Combine(root, "img_dir", split);
        var maskDir = Path.Combine(root, "ann_dir", split);
        if (!Directory.Exists(imageDir))
            throw new DatasetFileNotFoundException(imageDir, "img_dir", $"split folder not found (expected {Path.Combine("img_dir", split, "NAME.png")} and {Path.Combine("ann_dir", split, "NAME.png")}).");
        var masks = Directory.Exists(maskDir)
            ? Directory.GetFiles(maskDir).Where(f => Path.GetExtension(f).ToLowerInvariant() is ".png" or ".tif" or ".tiff")
                .GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Order(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal)
            : [];
        var entries = new List<(string, string)>();
        foreach (var image in Directory.GetFiles(imageDir).Where(f => ImageDecoder.KnownExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(image);
            if (!masks.TryGetValue(name, out var found))
                throw new DatasetFileNotFoundException(Path.Combine(maskDir, name + ".png"), "ann_dir", $"no mask for the image {image} (expected {name}.png or {name}.tif).");
            if (found.Length > 1)
                throw new DatasetFormatException(found[1], "ann_dir", $"two masks for the image {image}: {string.Join(" and ", found.Select(Path.GetFileName))}.");
            entries.Add((Path.GetFullPath(image), Path.GetFullPath(found[0])));
        }
        if (entries.Count == 0)
            throw new DatasetFormatException(imageDir, "img_dir", $"no image ({string.Join(" ", ImageDecoder.KnownExtensions)}) in the split folder.");
        return [.. entries];
    }

    // Without classes.json: the largest label among the training masks + 1.
    private static int InferNumClasses(string root, SegmentationFolderOptions options)
    {
        int max = -1;
        foreach (var (_, maskPath) in Scan(root, "train"))
            foreach (var v in LabelMask.Read(maskPath).Values)
            {
                if (v == options.IgnoreIndex || (options.ReduceZeroLabel && v == 0)) continue;
                max = Math.Max(max, options.ReduceZeroLabel ? v - 1 : v);
            }
        if (max < 0)
            throw new DatasetFormatException(Path.Combine(root, "ann_dir", "train"), "ann_dir", "every training mask pixel is ignored: no class to learn.");
        if (max >= 255)
            throw new DatasetFormatException(Path.Combine(root, "ann_dir", "train"), "ann_dir", $"largest mask value {max} leaves no room for the ignore value; at most 255 classes.");
        return max + 1;
    }
}
