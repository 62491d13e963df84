using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using SpatialNet.DependencyInjection;
using SpatialNet.Modules;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using SpatialNet.Weights;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.OwnData;

/// <summary>pretrained by name, resolved in a hub cache folder the test builds (weights it writes itself).</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class PretrainedByNameTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string? _hubCache = Environment.GetEnvironmentVariable("HF_HUB_CACHE");

    public PretrainedByNameTests() => Environment.SetEnvironmentVariable("HF_HUB_CACHE", _dir.Combine("hub"));

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("HF_HUB_CACHE", _hubCache);
        _dir.Dispose();
    }

    // models--<org>--<name>/refs/main → snapshots/<revision>/ (the layout huggingface_hub writes).
    private string Snapshot(string org, string name)
    {
        var repo = _dir.Combine("hub", $"models--{org}--{name}");
        var snapshot = Path.Combine(repo, "snapshots", "0123abcd");
        Directory.CreateDirectory(snapshot);
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), "0123abcd");
        return snapshot;
    }

    private IConfigurationRoot Run(string name, string chips, string pretrained) => SpatialNetConfiguration.FromJson($$"""
        {
          "output_dir": "{{_dir.Combine(name).Replace("\\", "/", StringComparison.Ordinal)}}", "device": "cpu", "threads": 1,
          "pretrained": "{{pretrained}}",
          "tasks": [ { "name": "land_use", "kind": "classification", "target": "label" } ],
          "loss": { "l2_lambda": 0 },
          "trainer": { "seed": 2, "epochs": 1, "learning_rate": 1e-12, "weight_decay": 0, "show_progress": false, "write_charts": false, "early_stopping_patience": 0 },
          "data": { "batch_size": 4, "sources": [ { "kind": "image-folder", "path": "{{chips.Replace("\\", "/", StringComparison.Ordinal)}}" } ] }
        }
        """);

    [Fact]
    public void A_timm_model_in_the_hub_cache_gives_the_encoders_sizes_weights_and_normalisation()
    {
        var snapshot = Snapshot("timm", "vit_tiny_patch16_224.augreg_in21k");
        // timm's config.json: the architecture (tiny: D 192, depth 12, 3 heads) and pretrained_cfg (input size, mean, std).
        File.WriteAllText(Path.Combine(snapshot, "config.json"), """
            {"architecture": "vit_tiny_patch16_224", "num_classes": 0, "num_features": 192,
             "pretrained_cfg": {"input_size": [3, 32, 32], "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
            """);
        manual_seed(11);
        Dictionary<string, Tensor> written;
        using (var vit = new VisionTransformer(new VisionTransformerOptions { ImageSize = 32, PatchSize = 16, EmbedDim = 192, Depth = 12, NumHeads = 3 }))
        {
            written = vit.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            StateDictFile.Write(Path.Combine(snapshot, "model.safetensors"), written);
        }
        var chips = _dir.Combine("chips");
        ChipFolder.Write(chips, ["a", "b"], [5, 5], 32, 3, 8, (k, i, c, y, x) => (k * 100 + c * 20 + x + i) % 256);

        var run = TrainingPipeline.Run(Run("timm", chips, "timm/vit_tiny_patch16_224.augreg_in21k"));

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(run.OutputDirectory, "config.json")))!;
        config["pretrained"]!.GetValue<string>().Should().Be("timm/vit_tiny_patch16_224.augreg_in21k", "a hub id is not a path");
        var model = config["model"]!;
        model["embed_dim"]!.GetValueKind().Should().Be(System.Text.Json.JsonValueKind.Number, "config.json keeps numbers typed");
        model["embed_dim"]!.GetValue<long>().Should().Be(192);
        model["qkv_bias"]!.GetValueKind().Should().Be(System.Text.Json.JsonValueKind.True);
        model["depth"]!.ToString().Should().Be("12");
        model["num_heads"]!.ToString().Should().Be("3");
        model["image_size"]!.ToString().Should().Be("32", "pretrained_cfg's input_size");
        var normalization = JsonNode.Parse(File.ReadAllText(Path.Combine(run.OutputDirectory, "data.json")))!["sources"]![0]!["normalization"]!;
        normalization["mean"]!.AsArray().Select(v => v!.GetValue<double>()).Should().Equal(0.485, 0.456, 0.406);
        normalization["std"]!.AsArray().Select(v => v!.GetValue<double>()).Should().Equal(0.229, 0.224, 0.225);
        // A learning rate of 1e-12 leaves the loaded encoder as written.
        using var trained = StateDictFile.Read(run.ModelWeights);
        foreach (var key in new[] { "encoder.cls_token", "encoder.pos_embed", "encoder.blocks.11.mlp.fc2.weight" })
            trained[key].allclose(written[key[8..]], rtol: 0, atol: 1e-6).Should().BeTrue(key);
        foreach (var t in written.Values) t.Dispose();
    }

    [Fact]
    public void A_hugging_face_id_takes_config_json_sizes_and_a_contradicting_model_key_is_named()
    {
        var snapshot = Snapshot("google", "vit-base-patch16-224");
        File.WriteAllText(Path.Combine(snapshot, "config.json"), """
            {"hidden_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 96, "image_size": 32,
             "patch_size": 8, "num_channels": 3, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "qkv_bias": true}
            """);
        File.WriteAllText(Path.Combine(snapshot, "preprocessor_config.json"), """{"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}""");
        File.WriteAllBytes(Path.Combine(snapshot, "model.safetensors"), []);

        var resolved = PretrainedByName.Resolve("google/vit-base-patch16-224");
        var configuration = PretrainedByName.WithModel(SpatialNetConfiguration.FromJson("""{ "pretrained": "google/vit-base-patch16-224", "model": { "depth": 2 } }"""));

        resolved.WeightsPath.Should().Be(Path.Combine(snapshot, "model.safetensors"));
        resolved.Mean.Should().Equal(0.5, 0.5, 0.5);
        var model = TrainingRunOptions.Bind(new ConfigurationBuilder().AddConfiguration(configuration)
            .AddInMemoryCollection(new Dictionary<string, string?> { ["tasks:0:name"] = "t", ["tasks:0:target"] = "label", ["data:sources:0:kind"] = "synthetic" }).Build()).Model;
        (model.EmbedDim, model.Depth, model.NumHeads, model.MlpRatio, model.PatchSize, model.ImageSize, model.NormEps).Should().Be((48, 2, 4, 2.0, 8, 32, 1e-12));
        FluentActions.Invoking(() => PretrainedByName.WithModel(SpatialNetConfiguration.FromJson("""{ "pretrained": "google/vit-base-patch16-224", "model": { "depth": 3 } }""")))
            .Should().Throw<ConfigurationException>().Which.Message.Should().Contain("model:depth = 3").And.Contain("has 2");
    }

    [Fact]
    public void A_model_missing_from_the_cache_names_the_folders_searched_and_the_download_command()
    {
        FluentActions.Invoking(() => PretrainedByName.Resolve("timm/vit_small_patch16_224.augreg_in21k"))
            .Should().Throw<ConfigurationException>().Which.Message.Should()
            .Contain(_dir.Combine("hub")).And.Contain("models--timm--vit_small_patch16_224.augreg_in21k").And.Contain("timm.create_model('hf-hub:timm/vit_small_patch16_224.augreg_in21k'");
        PretrainedByName.IsHubId("timm/vit_small_patch16_224.augreg_in21k").Should().BeTrue();
        PretrainedByName.IsHubId("weights/vit.safetensors").Should().BeFalse("a weight file's extension makes it a path");
        PretrainedByName.IsHubId("/abs/vit").Should().BeFalse();
    }
}
