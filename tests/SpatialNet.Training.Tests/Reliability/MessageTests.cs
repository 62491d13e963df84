using System.Text;
using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Metrics.Captioning;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using Xunit;

namespace SpatialNet.Training.Tests.Reliability;

/// <summary>Bad input is refused with a message that names the file and the field or option to change.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class MessageTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void MoreLabelsThanNumClasses_NamesTheTaskTheSourceAndTheOption()
    {
        // Synthetic scenes have 4 land-cover classes; the configuration says 2.
        var config = SpatialNetConfiguration.FromJson($$"""
            {
              "output_dir": "{{_dir.Combine("run")}}",
              "threads": 1,
              "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [ { "name": "land_cover", "kind": "classification", "target": "label", "head": { "num_classes": 2 } } ],
              "trainer": { "seed": 3, "epochs": 1, "show_progress": false, "write_charts": false },
              "data": { "batch_size": 8, "sources": [ { "kind": "synthetic", "train_count": 16, "val_count": 8 } ] }
            }
            """);

        var act = () => TrainingPipeline.Run(config);

        act.Should().Throw<ConfigurationException>().Which.Message.Should()
            .Contain("tasks:0:head:num_classes = 2").And.Contain("\"land_cover\"").And.Contain("data:sources:0")
            .And.Contain("split \"train\"").And.Contain("synthetic/train").And.Contain("0 to take the data set's class list");
        Directory.Exists(_dir.Combine("run")).Should().BeFalse("refused before the run folder is made");
    }

    [Fact]
    public void ADuplicateKeyInAnRsvqaFile_NamesTheFileAndTheKey()
    {
        var root = _dir.Combine("rsvqa");
        RsvqaFixture.Write(root, questions: RsvqaFixture.Questions.TrimEnd().TrimEnd('}') + ", \"questions\": [] }");
        var file = Path.Combine(root, "LR_split_train_questions.json");

        var act = () => new RsvqaDataset(root, "train");

        act.Should().Throw<DatasetFormatException>().Which.Message.Should().Contain(file).And.Contain("'questions'");
    }

    [Fact]
    public void InvalidUtf8InACaptionFile_NamesTheFileAndTheByteOffset()
    {
        var file = _dir.Combine("captions.json");
        var bytes = Encoding.UTF8.GetBytes("{\"refs\": {\"1\": [\"a road X\"]}}");
        int offset = Array.IndexOf(bytes, (byte)'X');
        bytes[offset] = 0xFF;
        File.WriteAllBytes(file, bytes);

        var act = () => CaptionJson.ReadReferences(file);

        act.Should().Throw<InvalidDataException>().Which.Message.Should().Contain(file).And.Contain($"byte offset {offset}");
    }

    [Fact]
    public void InvalidUtf8InACaptionDatasetFile_NamesTheFileAndTheByteOffset()
    {
        var root = _dir.Combine("ucm");
        Directory.CreateDirectory(root);
        var file = Path.Combine(root, UcmCaptionDataset.AnnotationFileName);
        var bytes = Encoding.UTF8.GetBytes("{\"images\": [{\"filename\": \"1.tif\", \"split\": \"train\", \"sentences\": [{\"raw\": \"a Xroad\"}]}]}");
        int offset = Array.IndexOf(bytes, (byte)'X');
        bytes[offset] = 0xC3;   // a lead byte without its continuation
        File.WriteAllBytes(file, bytes);

        var act = () => UcmCaptionDataset.ReadAnnotations(root);

        act.Should().Throw<DatasetFormatException>().Which.Message.Should().Contain(file).And.Contain($"byte offset {offset}");
    }

    [Fact]
    public void AnUnknownSyntheticFormat_NamesTheOptionAndTheAllowedValues()
    {
        var (code, _, err) = CliRunner.Run("synthetic", "--format", "coco", "--out", _dir.Combine("syn"));

        code.Should().Be(2);
        err.Should().Contain("'--format': 'coco' is not allowed; allowed ucm-caption, rsvqa, segmentation.").And.NotContain("unknown option");
    }
}
