using System.Text.Json.Nodes;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;

namespace SpatialNet.Training.Configuration;

/// <summary><c>ucm-caption</c>: UCM-captions' dataset.json (five sentences per image) and its image folder.</summary>
internal sealed class UcmCaptionSourceKind() : DataSourceKind("ucm-caption")
{
    public override void Validate(DataSourceOptions config, string at, ConfigCheck check)
    {
        check(config.CaptionSampling is "per_image" or "per_sentence", $"{at}:caption_sampling", config.CaptionSampling, "per_image or per_sentence");
        check(config.CaptionMaxLength >= 3, $"{at}:caption_max_length", config.CaptionMaxLength, "an integer >= 3 (start token, a word, end token)");
        check(config.CaptionMinCount >= 1, $"{at}:caption_min_count", config.CaptionMinCount, "an integer >= 1");
    }

    public override SourceContents Open(DataSourceOptions config, int index, int imageSize, int bands, ulong seed)
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
        return new SourceContents(train, name => splits.Contains(name) ? new UcmCaptionDataset(config.Path!, name, options) : null)
        {
            ClassNames = train.ClassNames,
            CaptionEncoder = captions,
        };
    }

    public override string Origin(DataSourceOptions config, string split, ulong seed) =>
        $"the images of {Path.Combine(config.Path!, UcmCaptionDataset.AnnotationFileName)} marked \"split\": \"{split}\"";

    public override void AddTo(JsonObject entry, SourceContents contents)
    {
        if (contents.CaptionEncoder is { } captionEncoder)
            entry["caption_encoder"] = captionEncoder.ToJson();
    }
}
