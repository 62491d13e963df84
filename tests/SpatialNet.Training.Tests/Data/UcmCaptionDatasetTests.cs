using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Tests.Support;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Data;

public sealed class UcmCaptionDatasetTests : IDisposable
{
    // Karpathy format as the UCM-captions release writes it: tokens keep case and can hold empty
    // strings; raw ends in " .". Images 1 and 2 are class 0 (agricultural), 101 class 1 (airplane),
    // 2100 class 20 (tenniscourt).
    private const string DatasetJson = """
        {"images": [
          {"sentids": [0, 1], "imgid": 0, "split": "train", "filename": "1.tif", "sentences": [
            {"tokens": ["There", "is", "a", "piece", "of", "farmland"], "raw": "There is a piece of farmland .", "imgid": 0, "sentid": 0},
            {"tokens": ["many", "", "green", "fields"], "raw": "many  green fields .", "imgid": 0, "sentid": 1}]},
          {"sentids": [2], "imgid": 1, "split": "val", "filename": "2.tif", "sentences": [
            {"tokens": ["a", "field"], "raw": "a field .", "imgid": 1, "sentid": 2}]},
          {"sentids": [3], "imgid": 100, "split": "train", "filename": "101.tif", "sentences": [
            {"tokens": ["an", "airplane", "is", "parked"], "raw": "an airplane is parked .", "imgid": 100, "sentid": 3}]},
          {"sentids": [4], "imgid": 2099, "split": "test", "filename": "2100.tif", "sentences": [
            {"tokens": ["two", "tennis", "courts"], "raw": "two tennis courts .", "imgid": 2099, "sentid": 4}]}
        ], "dataset": "UCM"}
        """;

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Root => _dir.Path;

    private void Write(string json = DatasetJson, string folder = "imgs", params string[] skip)
    {
        File.WriteAllText(Path.Combine(Root, "dataset.json"), json);
        Directory.CreateDirectory(Path.Combine(Root, folder));
        foreach (var n in new[] { 1, 2, 101, 2100 })
        {
            if (skip.Contains($"{n}.tif")) continue;
            var pixels = Enumerable.Range(0, 3 * 4 * 4).Select(i => (byte)(n + i)).ToArray();
            TestTiff.WriteRgb(Path.Combine(Root, folder, $"{n}.tif"), pixels, 4, 4);
        }
    }

    [Fact]
    public void Derives_the_land_use_class_from_the_image_number()
    {
        Write();

        var train = new UcmCaptionDataset(Root, "train");
        var test = new UcmCaptionDataset(Root, "test");

        train.Images.Select(i => i.ClassName).Should().Equal("agricultural", "airplane");
        train.Images.Select(i => i.ClassIndex).Should().Equal(0, 1);
        test.Images.Single().ClassName.Should().Be("tenniscourt");
        test.Images.Single().ClassIndex.Should().Be(20);
    }

    [Fact]
    public void Caption_text_comes_from_tokens_without_empty_strings_or_from_raw()
    {
        Write();
        var image = new UcmCaptionDataset(Root, "train").Images[0];

        image.References(CaptionSource.Tokens).Should().Equal("There is a piece of farmland", "many green fields");
        image.References(CaptionSource.Raw).Should().Equal("There is a piece of farmland .", "many  green fields .");
        image.Sentences[1].Tokens.Should().Equal("many", "", "green", "fields");
    }

    [Fact]
    public void Samples_hold_image_label_and_caption_ids_with_bos_and_eos()
    {
        Write();
        var plain = new UcmCaptionDataset(Root, "train");
        var encoder = plain.BuildCaptionEncoder(maxLength: 10);
        var dataset = new UcmCaptionDataset(Root, "train", new UcmCaptionOptions { CaptionEncoder = encoder, Sampling = CaptionSampling.PerSentence });

        dataset.Count.Should().Be(3); // 2 + 1 sentences
        using var sample = dataset.GetSample(1); // image 1.tif, sentence "many green fields"
        sample[SampleKeys.Image].shape.Should().Equal(3, 4, 4);
        sample[SampleKeys.Image][0, 0, 0].item<byte>().Should().Be(1);
        sample[SampleKeys.Label].item<long>().Should().Be(0);
        var ids = sample[SampleKeys.Caption].data<long>().ToArray();
        ids[0].Should().Be(1); // <bos>
        ids[^1].Should().Be(2); // <eos>
        encoder.Decode(ids).Should().Be("many green fields");
        using var first = dataset.GetSample(0);
        encoder.Decode(first[SampleKeys.Caption].data<long>().ToArray()).Should().Be("there is a piece of farmland");
    }

    [Fact]
    public void Finds_the_images_folder_under_either_common_name()
    {
        Write(folder: "images");
        new UcmCaptionDataset(Root, "val").Count.Should().Be(1);
    }

    [Fact]
    public void Missing_image_names_the_file_and_entry()
    {
        Write(skip: "101.tif");

        var error = FluentActions.Invoking(() => new UcmCaptionDataset(Root, "train")).Should().Throw<DatasetFileNotFoundException>().Which;

        error.FilePath.Should().Be(Path.Combine(Root, "imgs", "101.tif"));
        error.Field.Should().Be("images[2].filename"); // array position, not imgid (100)
    }

    [Fact]
    public void Missing_image_folder_is_reported()
    {
        File.WriteAllText(Path.Combine(Root, "dataset.json"), DatasetJson);

        var error = FluentActions.Invoking(() => new UcmCaptionDataset(Root, "train")).Should().Throw<DatasetFileNotFoundException>().Which;

        error.FilePath.Should().Be(Path.Combine(Root, "imgs"));
    }

    [Fact]
    public void Malformed_json_names_the_file()
    {
        Write(json: DatasetJson[..200]);

        var error = FluentActions.Invoking(() => new UcmCaptionDataset(Root, "train")).Should().Throw<DatasetFormatException>().Which;

        error.FilePath.Should().Be(Path.Combine(Root, "dataset.json"));
    }

    [Fact]
    public void Missing_raw_names_the_sentence_field()
    {
        Write(json: DatasetJson.Replace(", \"raw\": \"a field .\"", ""));

        var error = FluentActions.Invoking(() => new UcmCaptionDataset(Root, "train")).Should().Throw<DatasetFormatException>().Which;

        error.Field.Should().Be("images[1].sentences[0].raw");
    }

    [Fact]
    public void Empty_split_lists_the_splits_present()
    {
        Write();

        var error = FluentActions.Invoking(() => new UcmCaptionDataset(Root, "dev")).Should().Throw<DatasetFormatException>().Which;

        error.Field.Should().Be("images[*].split");
        error.Message.Should().Contain("test, train, val");
    }

    [Fact]
    public void Image_number_beyond_the_class_list_names_the_filename()
    {
        Write(json: DatasetJson.Replace("\"2100.tif\"", "\"2101.tif\""));

        var error = FluentActions.Invoking(() => new UcmCaptionDataset(Root, "test")).Should().Throw<DatasetFormatException>().Which;

        error.Field.Should().Be("images[3].filename");
    }
}
