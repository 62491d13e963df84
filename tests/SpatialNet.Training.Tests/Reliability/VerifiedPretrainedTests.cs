using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using SpatialNet.Weights;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Reliability;

/// <summary>A pretrained file with a published SHA-256 is verified before it is loaded.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class VerifiedPretrainedTests : IDisposable
{
    // FIPS 180-2, appendix B.1: SHA-256("abc").
    private const string AbcSha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Config(string pretrained, string sha256) => $$"""
        {
          "output_dir": "{{_dir.Combine("run")}}",
          "threads": 1,
          "pretrained": "{{pretrained}}",
          "pretrained_sha256": {{sha256}},
          "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
          "tasks": [ { "name": "land_cover", "kind": "classification", "target": "label" } ],
          "trainer": { "seed": 3, "epochs": 1, "show_progress": false, "write_charts": false },
          "data": { "batch_size": 8, "sources": [ { "kind": "synthetic", "train_count": 16, "val_count": 8 } ] }
        }
        """;

    [Theory]
    [InlineData("\"abc\"", "pretrained_sha256 = \"abc\"")]
    [InlineData("\"" + AbcSha256 + "0\"", "pretrained_sha256 = ")]
    public void AValueThatIsNoSha256_IsRefusedAtBinding(string sha256, string message)
    {
        var act = () => TrainingRunOptions.Bind(SpatialNetConfiguration.FromJson(Config("w.safetensors", sha256)), "cfg.json");

        act.Should().Throw<ConfigurationException>().Which.Message.Should().Contain(message).And.Contain("64 hexadecimal digits");
    }

    [Fact]
    public void APretrainedFileOfAnotherHash_IsRefusedBeforeItIsLoaded()
    {
        // Not even a weight file: the hash is checked first, so the message is the hash's, not the reader's.
        var weights = _dir.Combine("download.safetensors");
        File.WriteAllText(weights, "abd");

        var act = () => TrainingPipeline.Run(SpatialNetConfiguration.FromJson(Config(weights, $"\"{AbcSha256}\"")));

        act.Should().Throw<WeightFileException>().Which.Message.Should().Contain(weights).And.Contain($"expected {AbcSha256}").And.Contain("SHA-256 is ");
    }

    [Fact]
    public void WeightsInspect_VerifiesTheSha256BeforeReading()
    {
        var weights = _dir.Combine("w.safetensors");
        using (var sd = new StateDict { ["w"] = ones(2) })
            StateDictFile.Write(weights, sd);
        string actual;
        using (var stream = File.OpenRead(weights))
            actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));

        var (code, _, err) = CliRunner.Run(["weights", "inspect", weights, "--sha256", AbcSha256]);
        code.Should().Be(1);
        err.Should().Contain(weights).And.Contain($"its SHA-256 is {actual}, expected {AbcSha256}");

        CliRunner.Run(["weights", "inspect", weights, "--sha256", actual]).Code.Should().Be(0);
        var (bad, _, badErr) = CliRunner.Run(["weights", "inspect", weights, "--sha256", "xyz"]);
        bad.Should().Be(2);
        badErr.Should().Contain("'--sha256': 'xyz' is not a SHA-256");
    }
}
