using SpatialNet.IO;
using System.Globalization;
using System.Text.Json.Nodes;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Text;
using static TorchSharp.torch;

namespace SpatialNet.Training.Data;

/// <summary>Which text of a UCM-caption sentence to use.</summary>
public enum CaptionSource
{
    /// <summary>The <c>tokens</c> list (case kept, empty strings skipped), joined with spaces.</summary>
    Tokens,

    /// <summary>The <c>raw</c> string (ends in " .").</summary>
    Raw,
}

/// <summary>How UCM-caption images and sentences become samples.</summary>
public enum CaptionSampling
{
    /// <summary>One sample per image; the "caption" tensor is the image's first sentence.</summary>
    PerImage,

    /// <summary>One sample per (image, sentence) pair — the usual way to train a caption decoder.</summary>
    PerSentence,
}

/// <summary>One UCM-caption sentence.</summary>
/// <param name="SentId">The <c>sentid</c>.</param>
/// <param name="Tokens">The <c>tokens</c> exactly as in the file (may contain empty strings, keeps case).</param>
/// <param name="Raw">The <c>raw</c> string.</param>
public sealed record UcmCaptionSentence(int SentId, IReadOnlyList<string> Tokens, string Raw)
{
    /// <summary>The sentence's text from <paramref name="source"/>.</summary>
    public string Text(CaptionSource source) =>
        source == CaptionSource.Raw ? Raw : string.Join(' ', Tokens.Where(t => !string.IsNullOrWhiteSpace(t)));
}

/// <summary>One UCM-caption image with its sentences.</summary>
/// <param name="ImgId">The <c>imgid</c>.</param>
/// <param name="FileName">The <c>filename</c> (e.g. "1.tif").</param>
/// <param name="FilePath">Full path of the image file.</param>
/// <param name="Split">The <c>split</c> ("train", "val", "test").</param>
/// <param name="ClassIndex">Land-use class index.</param>
/// <param name="ClassName">Land-use class name.</param>
/// <param name="Sentences">Its reference sentences.</param>
public sealed record UcmCaptionImage(int ImgId, string FileName, string FilePath, string Split, int ClassIndex, string ClassName,
    IReadOnlyList<UcmCaptionSentence> Sentences)
{
    /// <summary>The reference captions (for caption metrics).</summary>
    public IReadOnlyList<string> References(CaptionSource source) => Sentences.Select(s => s.Text(source)).ToArray();
}

/// <summary>Options of <see cref="UcmCaptionDataset"/>.</summary>
public sealed record UcmCaptionOptions
{
    /// <summary>Image folder relative to the root (or absolute); null tries "imgs" then "images".</summary>
    public string? ImagesFolder { get; init; }

    /// <summary>Sentence text source (default <see cref="CaptionSource.Tokens"/>).</summary>
    public CaptionSource Source { get; init; } = CaptionSource.Tokens;

    /// <summary>Sample layout (default <see cref="CaptionSampling.PerImage"/>).</summary>
    public CaptionSampling Sampling { get; init; } = CaptionSampling.PerImage;

    /// <summary>
    /// Class list for the image-number rule; null uses the <c>spatialnet.class_names</c> block of
    /// dataset.json when present (synthetic data) or else <see cref="UcmCaptionDataset.UcMercedClasses"/>.
    /// </summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Images per class for the image-number rule (null: the file's block or 100).</summary>
    public int? ImagesPerClass { get; init; }

    /// <summary>Decoded-image cache; default: memory cache expecting 3 bands.</summary>
    public ImageCache? Cache { get; init; }

    /// <summary>Encodes captions into the "caption" tensor; null leaves it out.</summary>
    public TextEncoder? CaptionEncoder { get; init; }

    /// <summary>Split names an image may have (default train, val, test and Karpathy's restval); any other is an error.</summary>
    public IReadOnlyList<string> Splits { get; init; } = ["train", "val", "test", "restval"];

    /// <summary>Check at construction that every image file of the split exists (default true).</summary>
    public bool VerifyImages { get; init; } = true;

    /// <summary>Allow one image file in several splits (default false: an error naming both entries).</summary>
    public bool AllowImagesInSeveralSplits { get; init; }
}

/// <summary>
/// UCM-captions (Qu et al., "Deep semantic understanding of high resolution remote sensing image",
/// CITS 2016) from its release: <c>dataset.json</c> in Karpathy's format plus an image folder. The
/// land-use class of image <c>n.tif</c> is the sorted UC Merced class list at index ⌊(n−1)/100⌋.
/// Samples: "image" uint8 [C,H,W], "label" (land use), "index" and, with an encoder, "caption".
/// </summary>
public sealed class UcmCaptionDataset : IDataset
{
    /// <summary>The annotation file name.</summary>
    public const string AnnotationFileName = "dataset.json";

    /// <summary>The 21 UC Merced land-use classes, sorted (Yang and Newsam, ACM GIS 2010).</summary>
    public static IReadOnlyList<string> UcMercedClasses { get; } =
    [
        "agricultural", "airplane", "baseballdiamond", "beach", "buildings", "chaparral", "denseresidential",
        "forest", "freeway", "golfcourse", "harbor", "intersection", "mediumresidential", "mobilehomepark",
        "overpass", "parkinglot", "river", "runway", "sparseresidential", "storagetanks", "tenniscourt",
    ];

    private readonly UcmCaptionImage[] _images;
    private readonly (int Image, int Sentence)[] _samples;

    /// <summary>Reads and checks one split.</summary>
    /// <exception cref="DatasetFileNotFoundException">dataset.json, the image folder or an image file is missing.</exception>
    /// <exception cref="DatasetFormatException">dataset.json is malformed, a field is missing or invalid, the split is empty or unknown,
    /// an image path leaves the image folder, an image or imgid appears twice, or an image has no caption.</exception>
    public UcmCaptionDataset(string root, string split, UcmCaptionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(split);
        Options = options ?? new UcmCaptionOptions();
        Root = root;
        Split = split;
        Name = $"ucm-caption/{split}";
        Cache = Options.Cache ?? new ImageCache(new ImageLoadOptions { ExpectedBands = 3 });
        var annotations = ReadAnnotations(root, Options);
        ImagesFolder = annotations.ImagesFolder;
        ClassNames = annotations.ClassNames;
        if (Options.VerifyImages && !Directory.Exists(ImagesFolder))
            throw new DatasetFileNotFoundException(ImagesFolder, null,
                $"image folder not found{(Options.ImagesFolder is null ? " (looked for imgs/ and images/)" : string.Empty)}; set UcmCaptionOptions.ImagesFolder. The UC Merced images come from the UC Merced Land Use dataset (Yang and Newsam 2010).");
        if (!Options.Splits.Contains(split))
            throw new DatasetFormatException(annotations.FilePath, "images[*].split",
                $"'{split}' is not a split name; allowed: {string.Join(", ", Options.Splits)} (UcmCaptionOptions.Splits); splits present: " +
                string.Join(", ", annotations.Images.Select(i => i.Split).Distinct().Order(StringComparer.Ordinal)) + ".");
        _images = annotations.Images.Where(i => i.Split == split).ToArray();
        if (_images.Length == 0)
        {
            var present = annotations.Images.Select(i => i.Split).Distinct().Order(StringComparer.Ordinal);
            throw new DatasetFormatException(annotations.FilePath, "images[*].split", $"no image has split '{split}'; splits present: {string.Join(", ", present)}.");
        }
        if (Options.VerifyImages)
            foreach (var image in _images)
                if (!File.Exists(image.FilePath))
                    throw new DatasetFileNotFoundException(image.FilePath, $"images[{IndexOf(annotations.Images, image)}].filename",
                        $"image '{image.FileName}' of {annotations.FilePath} not found in {ImagesFolder}.");
        _samples = Options.Sampling == CaptionSampling.PerImage
            ? _images.Select((_, i) => (i, 0)).ToArray()
            : _images.SelectMany((img, i) => img.Sentences.Select((_, s) => (i, s))).ToArray();
        if (_samples.Length == 0)
            throw new DatasetFormatException(annotations.FilePath, "images[*].sentences", $"split '{split}' has no sentences.");
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The dataset folder.</summary>
    public string Root { get; }

    /// <summary>The split read.</summary>
    public string Split { get; }

    /// <summary>The options used.</summary>
    public UcmCaptionOptions Options { get; }

    /// <summary>The image folder found.</summary>
    public string ImagesFolder { get; }

    /// <summary>Land-use class names (index = label).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The decoded-image cache.</summary>
    public ImageCache Cache { get; }

    /// <summary>The split's images, in file order.</summary>
    public IReadOnlyList<UcmCaptionImage> Images => _images;

    /// <inheritdoc/>
    public int Count => _samples.Length;

    /// <summary>The image and sentence behind sample <paramref name="index"/>.</summary>
    public (UcmCaptionImage Image, UcmCaptionSentence? Sentence) Describe(int index)
    {
        var (i, s) = _samples[index];
        var image = _images[i];
        return (image, image.Sentences.Count > s ? image.Sentences[s] : null);
    }

    /// <summary>Builds a caption encoder (with &lt;bos&gt;/&lt;eos&gt;) from this split's sentences (use the training split).</summary>
    public TextEncoder BuildCaptionEncoder(int maxLength = 40, int minCount = 1, WordTokenizer? tokenizer = null)
    {
        tokenizer ??= new WordTokenizer();
        var texts = _images.SelectMany(i => i.Sentences).Select(s => Options.Source == CaptionSource.Raw ? s.Raw : string.Join(' ', s.Tokens));
        return TextEncoder.Build(texts, tokenizer, maxLength, addBos: true, addEos: true, minCount: minCount);
    }

    /// <summary>Per-band statistics over this split's images.</summary>
    public NormalizationStatistics ComputeNormalizationStatistics() =>
        NormalizationStatistics.Compute(_images.Select(i => Cache.Load(i.FilePath)));

    /// <inheritdoc/>
    public Sample GetSample(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _samples.Length);
        var (image, sentence) = Describe(index);
        var sample = new Sample();
        try
        {
            sample.Set(SampleKeys.Image, Cache.LoadTensor(image.FilePath));
            sample.Set(SampleKeys.Label, tensor((long)image.ClassIndex));
            sample.Set(SampleKeys.Index, tensor((long)index));
            if (Options.CaptionEncoder is { } encoder)
            {
                var ids = sentence is null ? encoder.EncodeTokens([])
                    : Options.Source == CaptionSource.Raw ? encoder.Encode(sentence.Raw) : encoder.EncodeTokens(sentence.Tokens);
                sample.Set(SampleKeys.Caption, tensor(ids));
            }
            return sample;
        }
        catch
        {
            sample.Dispose();
            throw;
        }
    }

    /// <summary>Everything dataset.json says, all splits.</summary>
    /// <param name="FilePath">Path of dataset.json.</param>
    /// <param name="ImagesFolder">The image folder.</param>
    /// <param name="ClassNames">Class names in label order.</param>
    /// <param name="ImagesPerClass">Images per class of the image-number rule.</param>
    /// <param name="Images">All images.</param>
    public sealed record Annotations(string FilePath, string ImagesFolder, IReadOnlyList<string> ClassNames, int ImagesPerClass,
        IReadOnlyList<UcmCaptionImage> Images);

    /// <summary>Reads and checks dataset.json (all splits). Needs no image files (image paths are computed, not checked).</summary>
    /// <exception cref="DatasetFileNotFoundException">dataset.json is missing.</exception>
    /// <exception cref="DatasetFormatException">A field is missing or invalid.</exception>
    public static Annotations ReadAnnotations(string root, UcmCaptionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        options ??= new UcmCaptionOptions();
        var file = Path.Combine(root, AnnotationFileName);
        if (!File.Exists(file))
            throw new DatasetFileNotFoundException(file, null, "UCM-captions annotation file not found (the release of Qu et al. 2016 has dataset.json beside an image folder).");
        var json = JsonFile.Object(JsonFile.Parse(file), file, "$");

        var folder = FindImagesFolder(root, options.ImagesFolder);
        var (classNames, perClass) = ClassRule(json, file, options);
        var entries = JsonFile.Array(json, "images", file, "images");
        var images = new List<UcmCaptionImage>(entries.Count);
        // One image, one entry per split and one split: the same file under two spellings (./2.tif, 2.tif)
        // or one imgid twice would put an image in two splits or drop it from the caption metrics.
        var seenFiles = new Dictionary<(string, string), int>();
        var splits = new ImageSplits(options.AllowImagesInSeveralSplits, $"{nameof(UcmCaptionOptions)}.{nameof(UcmCaptionOptions.AllowImagesInSeveralSplits)}");
        var seenIds = new Dictionary<int, int>();
        for (var i = 0; i < entries.Count; i++)
        {
            var field = $"images[{i}]";
            var entry = JsonFile.Object(entries[i], file, field);
            var fileName = JsonFile.String(entry, "filename", file, field + ".filename");
            var fullPath = DatasetPaths.Resolve(folder, fileName, file, field + ".filename");
            var split = JsonFile.String(entry, "split", file, field + ".split");
            if (!options.Splits.Contains(split))
                throw new DatasetFormatException(file, field + ".split", $"'{split}' is not a split name; allowed: {string.Join(", ", options.Splits)} (UcmCaptionOptions.Splits).");
            if (!splits.Add(fullPath, split, file, field + ".filename", $"'{fileName}'") || !seenFiles.TryAdd((fullPath, split), i))
            {
                var first = images[seenFiles[(fullPath, split)]];
                throw new DatasetFormatException(file, field + ".filename",
                    $"'{fileName}' is the same image as images[{seenFiles[(fullPath, split)]}] '{first.FileName}' in split '{split}'; each image appears once in a split.");
            }
            var imgId = JsonFile.IntOrNull(entry, "imgid", file, field + ".imgid") ?? i;
            if (!seenIds.TryAdd(imgId, i))
                throw new DatasetFormatException(file, field + ".imgid", $"imgid {imgId} also belongs to images[{seenIds[imgId]}]; image ids are unique.");
            var sentenceNodes = JsonFile.Array(entry, "sentences", file, field + ".sentences");
            if (sentenceNodes.Count == 0)
                throw new DatasetFormatException(file, field + ".sentences", $"image '{fileName}' has no sentences; every image needs at least one reference caption.");
            var sentences = new List<UcmCaptionSentence>(sentenceNodes.Count);
            for (var j = 0; j < sentenceNodes.Count; j++)
            {
                var sf = $"{field}.sentences[{j}]";
                var s = JsonFile.Object(sentenceNodes[j], file, sf);
                var sentence = new UcmCaptionSentence(
                    JsonFile.IntOrNull(s, "sentid", file, sf + ".sentid") ?? j,
                    JsonFile.StringArray(s, "tokens", file, sf + ".tokens"),
                    JsonFile.String(s, "raw", file, sf + ".raw"));
                if (sentence.Text(options.Source).Trim().TrimEnd('.').Trim().Length == 0)
                    throw new DatasetFormatException(file, sf + (options.Source == CaptionSource.Raw ? ".raw" : ".tokens"), "the caption is empty.");
                sentences.Add(sentence);
            }
            var classIndex = ClassOf(fileName, perClass, classNames.Count, file, field + ".filename");
            images.Add(new UcmCaptionImage(imgId, fileName, fullPath, split, classIndex, classNames[classIndex], sentences));
        }
        return new Annotations(file, folder, classNames, perClass, images);
    }

    private static int IndexOf(IReadOnlyList<UcmCaptionImage> images, UcmCaptionImage image)
    {
        for (var i = 0; i < images.Count; i++)
            if (ReferenceEquals(images[i], image)) return i;
        return -1;
    }

    private static string FindImagesFolder(string root, string? configured)
    {
        string[] candidates = configured is not null ? [configured] : ["imgs", "images"];
        var paths = candidates.Select(c => Path.Combine(root, c)).ToArray();
        // Annotations alone (e.g. for caption metrics) need no images: return the first candidate even
        // when absent, and let the dataset constructor report a missing folder.
        return paths.FirstOrDefault(Directory.Exists) ?? paths[0];
    }

    private static (IReadOnlyList<string> Names, int PerClass) ClassRule(JsonObject json, string file, UcmCaptionOptions options)
    {
        IReadOnlyList<string>? names = options.ClassNames;
        var perClass = options.ImagesPerClass;
        if (json["spatialnet"] is JsonObject block)
        {
            names ??= JsonFile.StringArray(block, "class_names", file, "spatialnet.class_names");
            perClass ??= JsonFile.Int(block, "images_per_class", file, "spatialnet.images_per_class");
        }
        names ??= UcMercedClasses;
        perClass ??= 100;
        if (names.Count == 0) throw new DatasetFormatException(file, "spatialnet.class_names", "the class list is empty.");
        if (perClass <= 0) throw new DatasetFormatException(file, "spatialnet.images_per_class", $"must be positive; got {perClass}.");
        return (names, perClass.Value);
    }

    private static int ClassOf(string fileName, int perClass, int classCount, string file, string field)
    {
        var stem = Path.GetFileNameWithoutExtension(fileName);
        if (!int.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
            throw new DatasetFormatException(file, field, $"'{fileName}' is not '<n>.<ext>' with n ≥ 1, so its land-use class cannot be derived.");
        var index = (n - 1) / perClass;
        if (index >= classCount)
            throw new DatasetFormatException(file, field, $"image number {n} gives class index {index}, beyond the {classCount} classes ({perClass} images per class).");
        return index;
    }
}
