using SpatialNet.Training.Data;

namespace SpatialNet.Training.Evaluation;

/// <summary>
/// The caption baselines every captioning report shows beside the model, built from the training
/// split's captions: the retrieval baseline (the most frequent training caption of a class:
/// on UCM-caption a perfect land-use classifier with it scores close to published captioning models)
/// and the image-blind one (the most frequent training caption of all classes: what a model scores
/// without looking at the image).
/// </summary>
public sealed class CaptionBaselines
{
    /// <summary>Builds the baselines from (class, caption) pairs of the training split.</summary>
    /// <param name="training">Training captions with their image's class, in data order.</param>
    /// <param name="tieBreak">Rule among equally frequent captions.</param>
    /// <exception cref="ArgumentException">No captions.</exception>
    public CaptionBaselines(IEnumerable<(int Label, string Caption)> training, CaptionTieBreak tieBreak = CaptionTieBreak.FirstSeen)
    {
        ArgumentNullException.ThrowIfNull(training);
        var pairs = training.ToArray();
        if (pairs.Length == 0)
            throw new ArgumentException("The caption baselines need at least one training caption.", nameof(training));
        Retrieval = new CaptionRetrieval(pairs, tieBreak);
        MostFrequentCaption = CaptionRetrieval.MostFrequent(pairs.Select(p => p.Caption), tieBreak);
        TrainingCaptions = pairs.Length;
    }

    /// <summary>The most frequent training caption of each class.</summary>
    public CaptionRetrieval Retrieval { get; }

    /// <summary>The most frequent training caption over all classes (the image-blind baseline).</summary>
    public string MostFrequentCaption { get; }

    /// <summary>Number of training captions counted.</summary>
    public int TrainingCaptions { get; }

    /// <summary>The baselines of a UCM-caption training split: every sentence of every image, as the split's <see cref="UcmCaptionOptions.Source"/> gives it.</summary>
    public static CaptionBaselines FromUcmCaption(UcmCaptionDataset training, CaptionTieBreak tieBreak = CaptionTieBreak.FirstSeen)
    {
        ArgumentNullException.ThrowIfNull(training);
        return new CaptionBaselines(
            training.Images.SelectMany(image => image.References(training.Options.Source).Select(caption => (image.ClassIndex, caption))), tieBreak);
    }
}
