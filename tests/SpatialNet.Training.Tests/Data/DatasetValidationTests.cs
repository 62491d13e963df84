using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Data;

/// <summary>Annotations that would silently change what is trained or scored are errors naming the file and field.</summary>
public sealed class DatasetValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Image(int imgId, string file, string split, string sentences = """[{"tokens": ["a", "field"], "raw": "a field ."}]""") =>
        $$"""{"imgid": {{imgId}}, "split": "{{split}}", "filename": "{{file}}", "sentences": {{sentences}}}""";

    private string Write(params string[] images)
    {
        File.WriteAllText(_dir.Combine("dataset.json"), $$"""{"images": [{{string.Join(",", images)}}]}""");
        Directory.CreateDirectory(_dir.Combine("imgs"));
        return _dir.Combine("dataset.json");
    }

    private DatasetFormatException Refused(string field)
    {
        var error = FluentActions.Invoking(() => UcmCaptionDataset.ReadAnnotations(_dir.Path)).Should().Throw<DatasetFormatException>().Which;
        error.FilePath.Should().Be(_dir.Combine("dataset.json"));
        error.Field.Should().Be(field);
        return error;
    }

    [Fact]
    public void Clean_annotations_are_read()
    {
        Write(Image(0, "1.tif", "train"), Image(1, "2.tif", "val"), Image(2, "3.tif", "test"));
        var a = UcmCaptionDataset.ReadAnnotations(_dir.Path);
        a.Images.Select(i => i.FilePath).Should().Equal(_dir.Combine("imgs", "1.tif"), _dir.Combine("imgs", "2.tif"), _dir.Combine("imgs", "3.tif"));
    }

    [Theory]
    [InlineData("../1.tif", "points outside the image folder")]
    [InlineData("sub/../../../etc/1.tif", "points outside the image folder")]
    [InlineData("/etc/1.tif", "is an absolute path")]
    public void Image_paths_stay_inside_the_image_folder(string path, string why)
    {
        Write(Image(0, "2.tif", "train"), Image(1, path, "train"));
        Refused("images[1].filename").Detail.Should().Contain(why);
    }

    [Fact]
    public void One_image_under_two_spellings_in_two_splits_is_an_error()
    {
        Write(Image(0, "2.tif", "train"), Image(1, "./2.tif", "val"));
        Refused("images[1].filename").Detail.Should().Contain(
            $"'./2.tif' (split 'val') is the same image as '2.tif' (images[0].filename of {_dir.Combine("dataset.json")}, split 'train')")
            .And.Contain("allow_images_in_several_splits").And.Contain("UcmCaptionOptions.AllowImagesInSeveralSplits");
    }

    [Fact]
    public void One_image_in_two_splits_is_read_when_allowed_but_never_twice_in_one_split()
    {
        Write(Image(0, "2.tif", "train"), Image(1, "./2.tif", "val"));
        var allowed = new UcmCaptionOptions { AllowImagesInSeveralSplits = true };

        UcmCaptionDataset.ReadAnnotations(_dir.Path, allowed).Images.Select(i => (i.Split, i.FilePath))
            .Should().Equal(("train", _dir.Combine("imgs", "2.tif")), ("val", _dir.Combine("imgs", "2.tif")));

        Write(Image(0, "2.tif", "train"), Image(1, "./2.tif", "val"), Image(2, "sub/../2.tif", "val"));
        var error = FluentActions.Invoking(() => UcmCaptionDataset.ReadAnnotations(_dir.Path, allowed)).Should().Throw<DatasetFormatException>().Which;
        error.Field.Should().Be("images[2].filename");
        error.Detail.Should().Contain("images[1] './2.tif' in split 'val'");
    }

    [Fact]
    public void An_rsvqa_image_active_in_two_splits_is_an_error_naming_both_files_unless_allowed()
    {
        // The fixture's active images are 7 and 12; val lists image 7 again (and 3, inactive, as the releases do).
        var root = _dir.Combine("rsvqa");
        RsvqaFixture.Write(root);
        RsvqaFixture.Write(root, split: "val",
            images: """{"images": [{"id": 3, "active": false}, {"id": 7, "original_name": "S2_a.tif", "questions_ids": [100], "active": true}]}""",
            questions: """{"questions": [{"id": 100, "img_id": 7, "type": "presence", "question": "Is there a road?", "answers_ids": [200], "active": true}]}""",
            answers: """{"answers": [{"id": 200, "question_id": 100, "answer": "yes", "active": true}]}""");
        var train = Path.Combine(root, "LR_split_train_images.json");
        var val = Path.Combine(root, "LR_split_val_images.json");

        foreach (var (split, file, field, other) in new[] { ("train", val, "images[1].id", train), ("val", train, "images[0].id", val) })
        {
            var error = FluentActions.Invoking(() => new RsvqaDataset(root, split)).Should().Throw<DatasetFormatException>().Which;
            error.FilePath.Should().Be(file);
            error.Field.Should().Be(field);
            error.Detail.Should().Contain("image 7").And.Contain(other).And.Contain("RsvqaOptions.AllowImagesInSeveralSplits");
        }

        var allowed = new RsvqaOptions { AllowImagesInSeveralSplits = true };
        new RsvqaDataset(root, "val", allowed).Images.Keys.Should().Equal(7);
        new RsvqaDataset(root, "train", allowed).Images.Keys.Order().Should().Equal(7, 12);
    }

    [Fact]
    public void A_repeated_imgid_is_an_error()
    {
        Write(Image(7, "1.tif", "test"), Image(7, "2.tif", "test"));
        Refused("images[1].imgid").Detail.Should().Contain("imgid 7 also belongs to images[0]");
    }

    [Fact]
    public void An_image_without_sentences_or_with_an_empty_caption_is_an_error()
    {
        Write(Image(0, "1.tif", "train", "[]"));
        Refused("images[0].sentences").Detail.Should().Contain("no sentences");

        Write(Image(0, "1.tif", "train", """[{"tokens": ["", " "], "raw": " ."}]"""));
        Refused("images[0].sentences[0].tokens").Detail.Should().Contain("empty");
    }

    [Fact]
    public void An_unknown_split_name_is_an_error_in_the_file_and_when_asked_for()
    {
        Write(Image(0, "1.tif", "trian"));
        Refused("images[0].split").Detail.Should().Contain("'trian' is not a split name; allowed: train, val, test, restval");

        Write(Image(0, "1.tif", "train"));
        FluentActions.Invoking(() => new UcmCaptionDataset(_dir.Path, "vall", new UcmCaptionOptions { VerifyImages = false }))
            .Should().Throw<DatasetFormatException>().WithMessage("*'vall' is not a split name*");
    }

    [Fact]
    public void A_count_truth_that_is_not_a_count_is_an_error_with_binning_on()
    {
        // "many" == "many" as strings would score as right.
        var answers = new[] { new VqaAnswer("count", "3", "3"), new VqaAnswer("count", "many", "many") };

        FluentActions.Invoking(() => VqaMetrics.Compute(answers)).Should().Throw<ArgumentException>()
            .WithMessage("answers[1].expected: count answer 'many' is neither a non-negative integer nor a count bin*");
        // A prediction that is not a count is simply wrong; exact scoring compares strings as asked.
        VqaMetrics.Compute([new VqaAnswer("count", "3", "many")]).OverallAccuracy.Should().Be(0);
        VqaMetrics.Compute(answers, binCounts: false).OverallAccuracy.Should().Be(1);
    }

    [Fact]
    public void A_count_truth_outside_the_training_answers_is_scored_wrong_not_refused()
    {
        // An evaluation split may hold an answer the training split never had: the model cannot give it.
        var answers = new[] { new VqaAnswer("count", "3", "3"), new VqaAnswer("count", VqaMetrics.OutOfVocabulary, "more than 1000") };

        VqaMetrics.Compute(answers).OverallAccuracy.Should().Be(0.5);
    }
}
