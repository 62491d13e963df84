using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Data;

/// <summary>
/// Reads the real data beside the repository (../shared/data or SPATIALNET_SHARED_DATA); skipped when
/// it is absent. The expected numbers come from the data's README and the issue tracker, not from
/// this code.
/// </summary>
public sealed class RealDataTests
{
    [SkippableFact]
    public void Reads_the_rsvqa_lr_sample_with_its_documented_sizes()
    {
        var root = SharedData.Find("rsvqa-lr-sample");
        Skip.If(root is null, "shared/data/rsvqa-lr-sample not found beside the repository (set SPATIALNET_SHARED_DATA)");

        var train = new RsvqaDataset(root!, "train");
        var val = new RsvqaDataset(root!, "val");

        train.Images.Should().HaveCount(64);
        train.Count.Should().Be(6402);
        val.Images.Should().HaveCount(16);
        val.Count.Should().Be(1601);
        train.Questions.Count(q => q.Type == RsvqaQuestionType.Comparison).Should().Be(2542);
        train.Questions.Count(q => q.Type == RsvqaQuestionType.RuralUrban).Should().Be(64);
        val.Questions.Count(q => q.Text.Contains("  ", StringComparison.Ordinal)).Should().BePositive();

        // Sentinel-2 RGB, 256×256, 8-bit (README).
        var image = train.LoadImage(train.Questions[0].ImageId);
        (image.Channels, image.Height, image.Width, image.BitsPerSample).Should().Be((3, 256, 256, 8));
    }

    [SkippableFact]
    public void Majority_answer_per_type_reproduces_the_published_val_baseline()
    {
        var root = SharedData.Find("rsvqa-lr-sample");
        Skip.If(root is null, "shared/data/rsvqa-lr-sample not found beside the repository (set SPATIALNET_SHARED_DATA)");
        var train = new RsvqaDataset(root!, "train");
        var val = new RsvqaDataset(root!, "val");

        // The majority training label per type (counts in the baseline's bins), scored on val.
        var majority = train.Questions.GroupBy(q => q.Type).ToDictionary(g => g.Key,
            g => g.GroupBy(q => q.AnswerLabel).OrderByDescending(a => a.Count()).ThenBy(a => a.Key, StringComparer.Ordinal).First().Key);
        var accuracy = val.Questions.GroupBy(q => q.Type).ToDictionary(g => g.Key,
            g => 100.0 * g.Count(q => q.AnswerLabel == majority[q.Type]) / g.Count());

        // Reference baseline figures: count 25.67, presence 78.22, comparison 67.28, rural/urban 56.25 (AA 56.86, OA 57.59).
        Math.Round(accuracy[RsvqaQuestionType.Count], 2).Should().Be(25.67);
        Math.Round(accuracy[RsvqaQuestionType.Presence], 2).Should().Be(78.22);
        Math.Round(accuracy[RsvqaQuestionType.Comparison], 2).Should().Be(67.28);
        Math.Round(accuracy[RsvqaQuestionType.RuralUrban], 2).Should().Be(56.25);
        Math.Round(accuracy.Values.Average(), 2).Should().Be(56.86);
        var overall = 100.0 * val.Questions.Count(q => q.AnswerLabel == majority[q.Type]) / val.Count;
        Math.Round(overall, 2).Should().Be(57.59);
    }

    [SkippableFact]
    public void Reads_the_real_ucm_captions_annotations()
    {
        var root = SharedData.Find("ucm-captions");
        Skip.If(root is null, "shared/data/ucm-captions not found beside the repository (set SPATIALNET_SHARED_DATA)");

        var annotations = UcmCaptionDataset.ReadAnnotations(root!);

        // README: 2,100 images (1,680/210/210), 10,500 sentences, every raw ends in " .", some empty tokens.
        annotations.Images.Should().HaveCount(2100);
        annotations.Images.Count(i => i.Split == "train").Should().Be(1680);
        annotations.Images.Count(i => i.Split == "val").Should().Be(210);
        annotations.Images.Count(i => i.Split == "test").Should().Be(210);
        annotations.Images.Sum(i => i.Sentences.Count).Should().Be(10500);
        annotations.Images.SelectMany(i => i.Sentences).Should().OnlyContain(s => s.Raw.EndsWith(" .", StringComparison.Ordinal));
        annotations.Images.SelectMany(i => i.Sentences).Should().Contain(s => s.Tokens.Contains(""));
        // Image n's class is the sorted UC Merced list at (n − 1) div 100.
        annotations.Images.Single(i => i.FileName == "1.tif").ClassName.Should().Be("agricultural");
        annotations.Images.Single(i => i.FileName == "100.tif").ClassName.Should().Be("agricultural");
        annotations.Images.Single(i => i.FileName == "101.tif").ClassName.Should().Be("airplane");
        annotations.Images.Single(i => i.FileName == "2100.tif").ClassName.Should().Be("tenniscourt");
    }
}
