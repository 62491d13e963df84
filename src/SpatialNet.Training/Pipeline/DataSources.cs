using SpatialNet.DependencyInjection;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
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

    private OpenedSource(DataSourceOptions config, DataSourceKind kind, int index, SourceContents contents)
    {
        Config = config;
        Kind = kind;
        Index = index;
        Contents = contents;
        _split = contents.Split;
    }

    public DataSourceOptions Config { get; }

    /// <summary>The source's registered kind.</summary>
    public DataSourceKind Kind { get; }

    /// <summary>What the kind opened.</summary>
    public SourceContents Contents { get; }

    /// <summary>Segmentation folders: class names and palette from classes.json, or null.</summary>
    public SegmentationClasses? Segmentation => Contents.Segmentation;

    /// <summary>Position in <c>data.sources</c>.</summary>
    public int Index { get; }

    public IDataset Train => Contents.Train;

    /// <summary>The dataset's class list (label of "label"), or null.</summary>
    public IReadOnlyList<string>? ClassNames => Contents.ClassNames;

    /// <summary>VQA sources: the answer vocabulary built from the training split.</summary>
    public AnswerVocabulary? Answers => Contents.Answers;

    /// <summary>VQA sources: the question encoder (word vocabulary of the training split's questions).</summary>
    public TextEncoder? Questions => Contents.Questions;

    /// <summary>Caption sources: the caption encoder built from the training split's sentences (samples carry "caption" ids).</summary>
    public TextEncoder? CaptionEncoder => Contents.CaptionEncoder;

    /// <summary>Task name → sample entries, for the tasks this source serves.</summary>
    public Dictionary<string, IReadOnlyList<string>> Targets { get; } = new(StringComparer.Ordinal);

    /// <summary>Classification task → the training split's labels in sample order (set by the pipeline's scan).</summary>
    public Dictionary<string, long[]> TrainLabels { get; } = new(StringComparer.Ordinal);

    /// <summary>Normalisation statistics of the training split (set by the pipeline's scan).</summary>
    public NormalizationStatistics? Normalization { get; set; }

    /// <summary>The split named <paramref name="name"/>, or null when this source has none.</summary>
    public IDataset? Split(string name)
    {
        if (name == Config.TrainSplit || (Kind.TrainIsTrainingSplit && name == "train"))
            return Train;
        if (!_opened.TryGetValue(name, out var dataset))
            _opened[name] = dataset = _split(name);
        return dataset;
    }

    /// <summary>The run's seed (synthetic scenes, the image folder's stratified split).</summary>
    public ulong Seed { get; private init; }

    /// <summary>Where split <paramref name="name"/> came from, its size and files; null when this source has no such split.</summary>
    public SplitRecord? Record(string name) => Split(name) is { } dataset ? SplitRecord.Of(Config, Kind, name, dataset, Seed) : null;

    /// <summary>How the source's image files are read: its bands (1-based in the configuration), its input range, native precision.</summary>
    public ImageLoadOptions? ImageOptions { get; private init; }

    /// <summary>Opens a source for a model with square inputs of <paramref name="imageSize"/> and <paramref name="bands"/> bands.</summary>
    /// <exception cref="ConfigurationException">Its kind is not registered, or it does not fit the model.</exception>
    public static OpenedSource Open(DataSourceOptions config, int index, int imageSize, int bands, ulong seed)
    {
        var kind = DataSourceKinds.Of(config, index);
        return new OpenedSource(config, kind, index, kind.Open(config, index, imageSize, bands, seed))
        {
            Seed = seed,
            ImageOptions = kind.ReadsFiles ? DataSourceKind.LoadOptions(config, index, imageSize, bands) : null,
        };
    }
}
