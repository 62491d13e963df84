using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Configuration;
using Xunit;

namespace SpatialNet.Training.Tests.Configuration;

/// <summary>Data source kinds are registrations: the names configuration may use, the keys each checks, its batching rules.</summary>
public sealed class DataSourceKindTests
{
    private static string Config(string source, string data = "") => $$"""
        {
          "output_dir": "runs/x",
          "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
          "tasks": [ { "name": "land_cover", "kind": "classification", "target": "label" } ],
          "data": { "batch_size": 8{{data}}, "sources": [ {{source}} ] }
        }
        """;

    private static TrainingRunOptions Bind(string json) =>
        TrainingRunOptions.Bind(SpatialNetConfiguration.FromJson(json, "/cfg"), "cfg.json");

    [Fact]
    public void TheBuiltInKinds_AreTheFiveDocumentedNames()
    {
        DataSourceKinds.BuiltIn.Select(k => k.Name).Should().Equal("synthetic", "ucm-caption", "rsvqa", "image-folder", "segmentation");
        DataSourceKinds.BuiltIn.Where(k => !k.ReadsFiles).Select(k => k.Name).Should().Equal(["synthetic"], "only synthetic scenes are generated in memory");
        DataSourceKinds.BuiltIn.Where(k => k.QuestionBatching).Select(k => k.Name).Should().Equal(["rsvqa"], "image deduplication, repeats and length buckets are for question batches");
        DataSourceKinds.BuiltIn.Where(k => k.KeepsGeometry).Select(k => k.Name).Should().Equal(["rsvqa"], "RSVQA asks about counts and sides");
        DataSourceKinds.BuiltIn.Where(k => k.TrainIsTrainingSplit).Select(k => k.Name).Should().Equal("synthetic", "image-folder", "segmentation");
    }

    [Fact]
    public void AnUnknownKind_IsRefusedListingTheRegisteredNames()
    {
        var act = () => Bind(Config("""{ "kind": "geotiff-folder", "path": "x" }"""));
        act.Should().Throw<ConfigurationException>().Which.Message.Should().Contain("cfg.json")
            .And.Contain("data:sources:0:kind = \"geotiff-folder\"")
            .And.Contain("synthetic, ucm-caption, rsvqa, image-folder or segmentation");
    }

    [Theory]
    [InlineData("""{ "kind": "synthetic", "noise_amplitude": 65 }""", "data:sources:0:noise_amplitude = 65")]
    [InlineData("""{ "kind": "synthetic", "bands": [1, 2, 3] }""", "data:sources:0:bands")]
    [InlineData("""{ "kind": "rsvqa", "path": "x", "variant": "mr" }""", "data:sources:0:variant = \"mr\"")]
    [InlineData("""{ "kind": "ucm-caption", "path": "x", "caption_sampling": "per_word" }""", "data:sources:0:caption_sampling = \"per_word\"")]
    [InlineData("""{ "kind": "image-folder", "path": "x", "val_fraction": 0.6, "test_fraction": 0.4 }""", "data:sources:0:val_fraction = 0.6")]
    [InlineData("""{ "kind": "segmentation", "path": "x", "ignore_index": 256 }""", "data:sources:0:ignore_index = 256")]
    [InlineData("""{ "kind": "segmentation" }""", "data:sources:0:path")]
    public void EachKind_ChecksItsOwnKeys(string source, string message)
    {
        var act = () => Bind(Config(source));
        act.Should().Throw<ConfigurationException>().Which.Message.Should().Contain(message);
    }

    [Theory]
    [InlineData(", \"crop_scale\": 0.5", "data:crop_scale")]
    [InlineData(", \"device_cache\": true", "data:device_cache")]
    public void AKindThatKeepsGeometry_RefusesCropsAndTheDeviceCache(string data, string key)
    {
        var act = () => Bind(Config("""{ "kind": "rsvqa", "path": "x" }""", data));
        act.Should().Throw<ConfigurationException>().Which.Message.Should().Contain(key).And.Contain("rsvqa");
        Bind(Config("""{ "kind": "image-folder", "path": "x" }""", data)).Data.Sources.Should().ContainSingle();
    }
}
