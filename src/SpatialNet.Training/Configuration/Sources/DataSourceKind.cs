using System.Text.Json.Nodes;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Text;

namespace SpatialNet.Training.Configuration;

/// <summary>What a source kind gives once opened: its training split, how to open its other splits, and what it knows about labels.</summary>
/// <param name="Train">The training split.</param>
/// <param name="Split">Opens a split by name; null when the source has none.</param>
internal sealed record SourceContents(IDataset Train, Func<string, IDataset?> Split)
{
    /// <summary>The dataset's class list (label of "label"), or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The answer vocabulary built from the training split (VQA), or null.</summary>
    public AnswerVocabulary? Answers { get; init; }

    /// <summary>The question encoder (word vocabulary of the training split's questions), or null.</summary>
    public TextEncoder? Questions { get; init; }

    /// <summary>The caption encoder built from the training split's sentences, or null.</summary>
    public TextEncoder? CaptionEncoder { get; init; }

    /// <summary>Class names and palette of a segmentation folder (classes.json), or null.</summary>
    public SegmentationClasses? Segmentation { get; init; }
}

/// <summary>
/// One kind of data source, under the name configuration writes in <c>data:sources:N:kind</c>: the keys it checks, how it
/// opens, its batching extras and its part of data.json. The built-in kinds are listed in <see cref="DataSourceKinds"/>.
/// </summary>
internal abstract class DataSourceKind(string name)
{
    /// <summary>The name configuration uses.</summary>
    public string Name { get; } = name;

    /// <summary>Reads files from <c>path</c> (which it needs), with <c>bands</c> and <c>input_range</c>; false: generated in memory.</summary>
    public virtual bool ReadsFiles => true;

    /// <summary>Its training split is always called <c>train</c> (<c>train_split</c> does not apply).</summary>
    public virtual bool TrainIsTrainingSplit => false;

    /// <summary>Its samples ask about positions, counts or sides: no random crops, no device cache (it flips and rotates on the device).</summary>
    public virtual bool KeepsGeometry => false;

    /// <summary>Its batches use image deduplication, <c>repeats</c> and <c>length_buckets</c> (question batches).</summary>
    public virtual bool QuestionBatching => false;

    /// <summary>Checks the keys this kind uses; <paramref name="at"/> is <c>data:sources:N</c>.</summary>
    public virtual void Validate(DataSourceOptions config, string at, ConfigCheck check)
    {
    }

    /// <summary>Opens a source for a model with square inputs of <paramref name="imageSize"/> and <paramref name="bands"/> bands.</summary>
    /// <exception cref="ConfigurationException">The source does not fit the model.</exception>
    public abstract SourceContents Open(DataSourceOptions config, int index, int imageSize, int bands, ulong seed);

    /// <summary>One sentence saying where split <paramref name="split"/> came from (splits.json, the report).</summary>
    public virtual string Origin(DataSourceOptions config, string split, ulong seed) => $"split {split} of {config.Path}";

    /// <summary>Adds what inference needs of this kind (vocabularies) to the source's entry of data.json.</summary>
    public virtual void AddTo(JsonObject entry, SourceContents contents)
    {
    }

    /// <summary>The colours of a class map of this source, or null (the default palette).</summary>
    public virtual IReadOnlyList<(byte R, byte G, byte B)>? Palette(DataSourceOptions config) => null;

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
}

/// <summary>The data source kinds configuration may name.</summary>
internal static class DataSourceKinds
{
    /// <summary>The built-in kinds, in the order messages list them.</summary>
    public static IReadOnlyList<DataSourceKind> BuiltIn { get; } =
    [
        new SyntheticSourceKind(),
        new UcmCaptionSourceKind(),
        new RsvqaSourceKind(),
        new ImageFolderSourceKind(),
        new SegmentationSourceKind(),
    ];

    /// <summary>The kind named <paramref name="name"/>, or null.</summary>
    public static DataSourceKind? Find(string? name) => BuiltIn.FirstOrDefault(k => k.Name == name);

    /// <summary>The registered names as messages list them: "a, b or c".</summary>
    public static string Allowed => BuiltIn.Count == 1 ? BuiltIn[0].Name
        : string.Join(", ", BuiltIn.Take(BuiltIn.Count - 1).Select(k => k.Name)) + " or " + BuiltIn[^1].Name;

    /// <summary>The kind of source <paramref name="index"/>.</summary>
    /// <exception cref="ConfigurationException">No kind has that name.</exception>
    public static DataSourceKind Of(DataSourceOptions config, int index) => Find(config.Kind)
        ?? throw new ConfigurationException($"data:sources:{index}:kind = \"{config.Kind}\": allowed {Allowed}.");
}
