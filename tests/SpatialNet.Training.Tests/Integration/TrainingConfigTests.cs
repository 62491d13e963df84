using FluentAssertions;
using SpatialNet.Training.Workflow;
using Xunit;

namespace SpatialNet.Training.Tests.Integration;

public sealed class TrainingConfigTests
{
    private const string Valid = """
        {
          "seed": 3,
          "output_dir": "runs/x",
          "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
          "tasks": [
            { "name": "land_cover", "kind": "classification", "target": "label" },
            { "name": "presence", "kind": "multi_label", "target": ["presence_building", "presence_road"] }
          ],
          "loss": { "composer": "uncertainty", "l2": 0 },
          "epochs": 2,
          "batch_size": 8,
          "data": { "sources": [ { "kind": "synthetic", "train_count": 20, "val_count": 10 } ] },
          // comments and trailing commas are allowed
        }
        """;

    [Fact]
    public void Json_RoundTrips_AndReadsATargetAsAStringOrAList()
    {
        var config = TrainingConfig.Parse(Valid);

        config.Seed.Should().Be(3);
        config.Model.ImageSize.Should().Be(32);
        config.Tasks[0].Target.Should().Equal("label");
        config.Tasks[1].Target.Should().Equal("presence_building", "presence_road");
        config.Loss.Composer.Should().Be("uncertainty");
        config.Optimizer.LearningRate.Should().Be(1e-4, "the paper's learning rate is the default");

        var again = TrainingConfig.Parse(config.ToJson());
        again.ToJson().Should().Be(config.ToJson());
        config.ToJson().Should().Contain("\"target\": \"label\"").And.Contain("\"batch_size\": 8");
    }

    [Theory]
    [InlineData("\"batch_size\": 8", "\"batch_size\": 0", "batch_size = 0: allowed an integer >= 1")]
    [InlineData("\"kind\": \"classification\"", "\"kind\": \"detection\"", "tasks[0].kind = \"detection\": allowed classification, regression, multi_label, vqa or caption")]
    [InlineData("\"num_heads\": 2", "\"num_heads\": 3", "model.num_heads = 3: allowed a positive divisor of model.embed_dim (16)")]
    [InlineData("\"composer\": \"uncertainty\"", "\"composer\": \"magic\"", "loss.composer = \"magic\"")]
    [InlineData("\"train_count\": 20", "\"train_count\": 0", "data.sources[0].train_count = 0")]
    [InlineData("\"kind\": \"synthetic\"", "\"kind\": \"rsvqa\"", "data.sources[0].path = null: allowed the dataset folder")]
    [InlineData("\"name\": \"presence\"", "\"name\": \"land_cover\"", "tasks[1].name = \"land_cover\": allowed a name not used by another task")]
    [InlineData("\"l2\": 0", "\"l2\": -1", "loss.l2 = -1")]
    public void InvalidValues_NameTheirField(string from, string to, string message)
    {
        var act = () => TrainingConfig.Parse(Valid.Replace(from, to, StringComparison.Ordinal), "cfg.json");
        act.Should().Throw<TrainingConfigException>().Which.Message.Should().Contain("cfg.json").And.Contain(message);
    }

    [Fact]
    public void UnknownFieldsAndWrongTypes_AreRejectedWithTheirPath()
    {
        var unknown = () => TrainingConfig.Parse(Valid.Replace("\"epochs\": 2", "\"epocs\": 2", StringComparison.Ordinal));
        unknown.Should().Throw<TrainingConfigException>().WithMessage("*epocs*");
        var type = () => TrainingConfig.Parse(Valid.Replace("\"epochs\": 2", "\"epochs\": \"two\"", StringComparison.Ordinal));
        type.Should().Throw<TrainingConfigException>().WithMessage("*epochs*");
    }

    [Fact]
    public void ATaskNoSourceServes_IsReported()
    {
        var json = Valid.Replace("{ \"kind\": \"synthetic\",", "{ \"kind\": \"synthetic\", \"targets\": { \"land_cover\": \"label\" },", StringComparison.Ordinal);
        var act = () => TrainingConfig.Parse(json);
        act.Should().Throw<TrainingConfigException>().WithMessage("*task 'presence' gets targets from no source*");
    }
}
