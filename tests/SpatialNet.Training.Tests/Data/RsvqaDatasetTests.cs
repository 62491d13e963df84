using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Text;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Data;

public sealed class RsvqaDatasetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Root => _dir.Path;

    [Fact]
    public void Reads_active_questions_indexed_by_id_skipping_inactive_entries()
    {
        RsvqaFixture.Write(Root);

        var dataset = new RsvqaDataset(Root, "train");

        // 9 question entries: 110 is bare inactive, 107 asks about inactive image 5.
        dataset.Questions.Select(q => q.Id).Should().Equal(100, 101, 102, 103, 104, 105, 106);
        dataset.Images.Keys.Should().BeEquivalentTo([7, 12]);
        dataset.Images[7].OriginalName.Should().Be("S2_a.tif");
        dataset.Name.Should().Be("rsvqa-lr/train");
        var count = dataset.Questions.Single(q => q.Id == 102);
        count.ImageId.Should().Be(7);
        count.Type.Should().Be(RsvqaQuestionType.Count);
        count.Answer.Should().Be("13");
        count.Count.Should().Be(13);
        count.AnswerLabel.Should().Be("between 11 and 100");
        dataset.Questions.Single(q => q.Id == 106).AnswerLabel.Should().Be("more than 1000");
        dataset.Questions.Single(q => q.Id == 105).AnswerLabel.Should().Be("0");
        dataset.Questions.Single(q => q.Id == 103).Type.Should().Be(RsvqaQuestionType.Comparison);
        dataset.Questions.Single(q => q.Id == 101).Text.Should().Be("Is there a  forest in the image?");
    }

    [Theory]
    [InlineData(0, "0")]
    [InlineData(1, "between 1 and 10")]
    [InlineData(10, "between 1 and 10")]
    [InlineData(11, "between 11 and 100")]
    [InlineData(100, "between 11 and 100")]
    [InlineData(101, "between 101 and 1000")]
    [InlineData(1000, "between 101 and 1000")]
    [InlineData(1001, "more than 1000")]
    [InlineData(40000, "more than 1000")]
    public void Count_bins_have_the_baseline_boundaries(long count, string label)
    {
        // Boundaries from the RSVQA-LR baseline as written in shared/metrics/README.md.
        CountAnswerBins.ToBin(count).Should().Be(label);
    }

    [Fact]
    public void Raw_count_encoding_keeps_the_number()
    {
        RsvqaFixture.Write(Root);

        var dataset = new RsvqaDataset(Root, "train", new RsvqaOptions { CountEncoding = RsvqaCountEncoding.Raw });

        dataset.Questions.Single(q => q.Id == 106).AnswerLabel.Should().Be("1500");
    }

    [Fact]
    public void Normalised_text_collapses_spaces_lowercases_and_drops_the_question_mark()
    {
        RsvqaQuestion.NormalizeText("Is there a  forest in the image?").Should().Be("is there a forest in the image");
        RsvqaQuestion.NormalizeText("How many buildings are there").Should().Be("how many buildings are there");
    }

    [Fact]
    public void Samples_carry_image_question_answer_type_count_and_the_augmentation_flag()
    {
        RsvqaFixture.Write(Root);
        var train = new RsvqaDataset(Root, "train");
        var encoder = train.BuildQuestionEncoder();
        var answers = train.BuildAnswerVocabulary();
        var dataset = new RsvqaDataset(Root, "train", new RsvqaOptions { QuestionEncoder = encoder, Answers = answers });

        using var countSample = dataset.GetSample(2); // question 102, image 7
        var image = countSample[SampleKeys.Image];
        image.dtype.Should().Be(ScalarType.Byte);
        image.shape.Should().Equal(3, 8, 8);
        image[2, 5, 4].item<byte>().Should().Be(RsvqaFixture.Pixel(7, 2, 5, 4));
        countSample[SampleKeys.QuestionType].item<long>().Should().Be((long)RsvqaQuestionType.Count);
        countSample[SampleKeys.Count].item<float>().Should().Be(13f);
        countSample[SampleKeys.CountBin].item<long>().Should().Be(2); // 13 is in "between 11 and 100"
        countSample[SampleKeys.AllowGeometric].item<bool>().Should().BeTrue();
        answers.Decode((int)countSample[SampleKeys.Answer].item<long>()).Should().Be("between 11 and 100");
        encoder.Decode(countSample[SampleKeys.Question].data<long>().ToArray()).Should().Be("how many buildings are there");

        using var left = dataset.GetSample(4); // "Is there a road on the Left side?"
        left[SampleKeys.AllowGeometric].item<bool>().Should().BeFalse();
        float.IsNaN(left[SampleKeys.Count].item<float>()).Should().BeTrue();
        left[SampleKeys.CountBin].item<long>().Should().Be(-100);
    }

    [Fact]
    public void High_resolution_layout_and_custom_image_folder_are_supported()
    {
        RsvqaFixture.Write(Root, prefix: "USGS", imageFolder: "Data");
        new RsvqaDataset(Root, "train", new RsvqaOptions { Variant = RsvqaVariant.HighResolution }).Count.Should().Be(7);

        RsvqaFixture.Write(_dir.Combine("other"), imageFolder: "tiffs");
        new RsvqaDataset(_dir.Combine("other"), "train", new RsvqaOptions { ImageFolder = "tiffs" }).Count.Should().Be(7);
    }

    [Fact]
    public void Missing_image_file_names_the_file_and_the_image_entry()
    {
        RsvqaFixture.Write(Root);
        var missing = Path.Combine(Root, "Images_LR", "12.tif");
        File.Delete(missing);

        var error = FluentActions.Invoking(() => new RsvqaDataset(Root, "train")).Should().Throw<DatasetFileNotFoundException>().Which;

        error.FilePath.Should().Be(missing);
        error.Field.Should().Be("images[2].id");
    }

    [Fact]
    public void Missing_json_file_names_it_and_where_to_get_the_release()
    {
        RsvqaFixture.Write(Root);

        var error = FluentActions.Invoking(() => new RsvqaDataset(Root, "val")).Should().Throw<DatasetFileNotFoundException>().Which;

        error.FilePath.Should().EndWith("LR_split_val_images.json");
        error.Message.Should().Contain("zenodo");
    }

    [Fact]
    public void Malformed_json_names_the_file_and_position()
    {
        RsvqaFixture.Write(Root, questions: """{"questions": [{"id": 1, "img_id": 7,, "type": "count"}]}""");

        var error = FluentActions.Invoking(() => new RsvqaDataset(Root, "train")).Should().Throw<DatasetFormatException>().Which;

        error.FilePath.Should().EndWith("LR_split_train_questions.json");
        error.Field.Should().NotBeNullOrEmpty();
        error.Message.Should().Contain("line 1");
    }

    [Fact]
    public void Unknown_question_type_names_the_field_and_allowed_values()
    {
        RsvqaFixture.Write(Root, questions: RsvqaFixture.Questions.Replace("\"type\": \"comp\"", "\"type\": \"colour\""));

        var error = FluentActions.Invoking(() => new RsvqaDataset(Root, "train")).Should().Throw<DatasetFormatException>().Which;

        error.FilePath.Should().EndWith("LR_split_train_questions.json");
        error.Field.Should().Be("questions[4].type");
        error.Message.Should().Contain("'colour'").And.Contain("rural_urban, presence, count, comp");
    }

    [Fact]
    public void Missing_required_field_is_named()
    {
        RsvqaFixture.Write(Root, questions: RsvqaFixture.Questions.Replace("\"img_id\": 12, ", ""));

        var error = FluentActions.Invoking(() => new RsvqaDataset(Root, "train")).Should().Throw<DatasetFormatException>().Which;

        error.Field.Should().Be("questions[6].img_id");
    }

    [Fact]
    public void Non_numeric_count_answer_names_the_answer_field()
    {
        RsvqaFixture.Write(Root, answers: RsvqaFixture.Answers.Replace("\"answer\": \"13\"", "\"answer\": \"many\""));

        var error = FluentActions.Invoking(() => new RsvqaDataset(Root, "train")).Should().Throw<DatasetFormatException>().Which;

        error.FilePath.Should().EndWith("LR_split_train_answers.json");
        error.Field.Should().Be("answers[4].answer");
    }

    [Fact]
    public void Empty_split_is_a_format_error()
    {
        RsvqaFixture.Write(Root, questions: """{"questions": [{"id": 1, "active": false}]}""");

        var error = FluentActions.Invoking(() => new RsvqaDataset(Root, "train")).Should().Throw<DatasetFormatException>().Which;

        error.FilePath.Should().EndWith("LR_split_train_questions.json");
        error.Field.Should().Be("questions");
        error.Message.Should().Contain("no active question");
    }

    [Fact]
    public void Wrong_band_count_fails_when_the_image_is_loaded()
    {
        RsvqaFixture.Write(Root, bands: 4);
        var dataset = new RsvqaDataset(Root, "train");

        var error = FluentActions.Invoking(() => dataset.GetSample(0)).Should().Throw<ImageDecodeException>().Which;

        error.FilePath.Should().EndWith(Path.Combine("Images_LR", "7.tif"));
        error.Field.Should().Be("SamplesPerPixel");
    }

    [Fact]
    public void Answer_vocabulary_orders_by_frequency_and_ignores_unknown_answers()
    {
        RsvqaFixture.Write(Root);
        var vocabulary = new RsvqaDataset(Root, "train").BuildAnswerVocabulary();

        // Labels: rural, yes, 11–100, no, yes, 0, >1000 → "yes" twice, the rest once (ordinal ties).
        vocabulary.Answers.Should().Equal("yes", "0", "between 11 and 100", "more than 1000", "no", "rural");
        vocabulary.Encode("urban").Should().Be(AnswerVocabulary.IgnoreIndex);
    }
}
