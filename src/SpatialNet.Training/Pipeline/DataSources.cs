using SpatialNet.DependencyInjection;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Synthetic;
using SpatialNet.Training.Text;

namespace SpatialNet.Training.Pipeline;

/// <summary>
/// One configured data source opened: its training dataset, its other splits, the tasks it serves
/// (task → sample entries) and what it knows about labels (class list, answer vocabulary).
/// </summary>
internal sealed class OpenedSource
{
    private readonly Func<string, IDataset?> _split;
    private readonly Dictionary<string, IDataset?> _opened = new(StringComparer.Ordinal);

    private OpenedSource(DataSourceOptions config, int index, IDataset train, Func<string, IDataset?> split, IReadOnlyList<string>? classNames,
        AnswerVocabulary? answers, TextEncoder? questions = null, TextEncoder? captionEncoder = null)
    {
        Questions = questions;
        CaptionEncoder = captionEncoder;
        Config = config;
        Index = index;
        Train = train;
        _split = split;
        ClassNames = classNames;
        Answers = answers;
    }

    public DataSourceOptions Config { get; }

    /// <summary>Segmentation folders: class names and palette from classes.json, or null.</summary>
    public SegmentationClasses? Segmentation { get; init; }

    /// <summary>Position in <c>data.sources</c>.</summary>
    public int Index { get; }

    public IDataset Train { get; }

    /// <summary>The dataset's class list (label of "label"), or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>RSVQA: the answer vocabulary built from the training split.</summary>
    public AnswerVocabulary? Answers { get; }

    /// <summary>RSVQA: the question encoder (word vocabulary of the training split's questions).</summary>
    public TextEncoder? Questions { get; }

    /// <summary>UCM-caption: the caption encoder built from the training split's sentences (samples carry "caption" ids).</summary>
    public TextEncoder? CaptionEncoder { get; }

    /// <summary>Task name → sample entries, for the tasks this source serves.</summary>
    public Dictionary<string, IReadOnlyList<string>> Targets { get; } = new(StringComparer.Ordinal);

    /// <summary>Classification task → the training split's labels in sample order (set by the pipeline's scan).</summary>
    public Dictionary<string, long[]> TrainLabels { get; } = new(StringComparer.Ordinal);

    /// <summary>Normalisation statistics of the training split (set by the pipeline's scan).</summary>
    public NormalizationStatistics? Normalization { get; set; }

    /// <summary>The split named <paramref name="name"/>, or null when this source has none.</summary>
    public IDataset? Split(string name)
    {
        if (name == Config.TrainSplit || (Config.Kind is "synthetic" or "image-folder" or "segmentation" && name == "train"))
            return Train;
        if (!_opened.TryGetValue(name, out var dataset))
            _opened[name] = dataset = _split(name);
        return dataset;
    }

    /// <summary>The run's seed (synthetic scenes, the image folder's stratified split).</summary>
    public ulong Seed { get; private set; }

    /// <summary>Where split <paramref name="name"/> came from, its size and files; null when this source has no such split.</summary>
    public SplitRecord? Record(string name) => Split(name) is { } dataset ? SplitRecord.Of(Config, name, dataset, Seed) : null;

    /// <summary>How the source's image files are read: its bands (1-based in the configuration), its input range, native precision.</summary>
    public ImageLoadOptions? ImageOptions { get; private set; }

    /// <summary>The load options of a file source: <c>bands</c>, <c>input_range</c>, the model's size and band count, native precision.</summary>
    /// <exception cref="ConfigurationException">The bands do not match <c>model:in_channels</c>.</exception>
    internal static ImageLoadOptions LoadOptions(DataSourceOptions config, int index, int imageSize, int bands)
    {
        if (config.Bands is { } selected && selected.Count != bands)
            throw new ConfigurationException($"data:sources:{index}:bands = [{string.Join(", ", selected)}]: {selected.Count} bands, but model:in_channels = {bands}; allowed as many bands as the model takes.");
        return new ImageLoadOptions
        {
            SelectBands = config.Bands?.Select(b => b - 1).ToArray(),
            ExpectedBands = bands,
            Height = imageSize,
            Width = imageSize,
            NativePrecision = true,
            InputRange = config.InputRangePairs(),
        };
    }

    /// <summary>Opens a source for a model with square inputs of <paramref name="imageSize"/> and <paramref name="bands"/> bands.</summary>
    public static OpenedSource Open(DataSourceOptions config, int index, int imageSize, int bands, ulong seed)
    {
        var opened = OpenKind(config, index, imageSize, bands, seed);
        opened.Seed = seed;
        if (config.Kind != "synthetic")
            opened.ImageOptions = LoadOptions(config, index, imageSize, bands);
        return opened;
    }

    private static OpenedSource OpenKind(DataSourceOptions config, int index, int imageSize, int bands, ulong seed)
    {
        var at = $"data:sources:{index}";
        switch (config.Kind)
        {
            case "synthetic":
            {
                if (imageSize < 32)
                    throw new ConfigurationException($"{at}: synthetic scenes are at least 32×32 pixels; model:image_size = {imageSize}.");
                if (bands != 3)
                    throw new ConfigurationException($"{at}: synthetic scenes are RGB; model:in_channels = {bands}.");
                var options = new SyntheticSceneOptions { ImageSize = imageSize, Seed = config.GeneratorSeed ?? seed };
                if (config.NoiseAmplitude is int noise)
                    options = options with { NoiseAmplitude = noise };
                var generator = new SyntheticSceneGenerator(options);
                var train = new SyntheticSceneDataset(generator, config.TrainCount, 0, "synthetic/train");
                IDataset? Split(string name) => name switch
                {
                    "val" when config.ValCount > 0 => new SyntheticSceneDataset(generator, config.ValCount, config.TrainCount, "synthetic/val"),
                    "test" when config.TestCount > 0 => new SyntheticSceneDataset(generator, config.TestCount, config.TrainCount + config.ValCount, "synthetic/test"),
                    _ => null,
                };
                return new OpenedSource(config, index, train, Split, SyntheticSceneGenerator.LandCoverClasses, null);
            }
            case "ucm-caption":
            {
                var cache = new ImageCache(LoadOptions(config, index, imageSize, bands));
                var options = new UcmCaptionOptions { Cache = cache, AllowImagesInSeveralSplits = config.AllowImagesInSeveralSplits };
                // The caption vocabulary comes from the training split's sentences only.
                var captions = new UcmCaptionDataset(config.Path!, config.TrainSplit, options with { VerifyImages = false })
                    .BuildCaptionEncoder(config.CaptionMaxLength, config.CaptionMinCount);
                options = options with { CaptionEncoder = captions };
                var train = new UcmCaptionDataset(config.Path!, config.TrainSplit,
                    options with { Sampling = config.CaptionSampling == "per_sentence" ? CaptionSampling.PerSentence : CaptionSampling.PerImage });
                var splits = UcmCaptionDataset.ReadAnnotations(config.Path!, options).Images.Select(i => i.Split).ToHashSet(StringComparer.Ordinal);
                // Other splits are evaluated per image (each image once, whatever the training sampling).
                return new OpenedSource(config, index, train, name => splits.Contains(name) ? new UcmCaptionDataset(config.Path!, name, options) : null,
                    train.ClassNames, null, captionEncoder: captions);
            }
            case "rsvqa":
            {
                var cache = new ImageCache(LoadOptions(config, index, imageSize, bands));
                var options = new RsvqaOptions
                {
                    Variant = config.Variant == "hr" ? RsvqaVariant.HighResolution : RsvqaVariant.LowResolution,
                    Cache = cache,
                    AllowImagesInSeveralSplits = config.AllowImagesInSeveralSplits,
                };
                var probe = new RsvqaDataset(config.Path!, config.TrainSplit, options);
                var answers = probe.BuildAnswerVocabulary();
                var questions = probe.BuildQuestionEncoder();
                options = options with { Answers = answers, QuestionEncoder = questions };
                var train = new RsvqaDataset(config.Path!, config.TrainSplit, options);
                return new OpenedSource(config, index, train,
                    name => File.Exists(RsvqaDataset.FilePath(config.Path!, options.Variant, name, "questions")) ? new RsvqaDataset(config.Path!, name, options) : null,
                    null, answers, questions);
            }
            case "image-folder":
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
                return new OpenedSource(config, index, train, Split, all.ClassNames, null);
            }
            case "segmentation":
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
                return new OpenedSource(config, index, train, name => splits.Contains(name) ? new SegmentationFolderDataset(config.Path!, name, options) : null,
                    train.ClassNames, null) { Segmentation = train.Classes };
            }
            default:
                throw new ConfigurationException($"{at}:kind = \"{config.Kind}\": allowed synthetic, ucm-caption, rsvqa, image-folder or segmentation.");
        }
    }
}
