using FluentAssertions;
using SpatialNet.Modules;
using SpatialNet.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Weights;

public class HuggingFaceVitTests
{
    /// <summary>
    /// Renames the timm fixture into Hugging Face ViTForImageClassification names, splitting each
    /// fused qkv into query, key and value (rows 0..D, D..2D, 2D..3D) — written from the HF layout,
    /// independently of the production key map.
    /// </summary>
    private static StateDict HuggingFaceCheckpoint(StateDict timm, bool withVitPrefix = true, bool withClassifier = true)
    {
        string p = withVitPrefix ? "vit." : "";
        var hf = new StateDict
        {
            [p + "embeddings.cls_token"] = timm["cls_token"],
            [p + "embeddings.position_embeddings"] = timm["pos_embed"],
            [p + "embeddings.patch_embeddings.projection.weight"] = timm["patch_embed.proj.weight"],
            [p + "embeddings.patch_embeddings.projection.bias"] = timm["patch_embed.proj.bias"],
            [p + "layernorm.weight"] = timm["norm.weight"],
            [p + "layernorm.bias"] = timm["norm.bias"],
        };
        if (withClassifier)
        {
            hf["classifier.weight"] = timm["head.weight"];
            hf["classifier.bias"] = timm["head.bias"];
        }
        for (int i = 0; i < 2; i++)
        {
            string l = $"{p}encoder.layer.{i}.", b = $"blocks.{i}.";
            foreach (var param in new[] { "weight", "bias" })
            {
                var qkv = timm[$"{b}attn.qkv.{param}"];
                hf[$"{l}attention.attention.query.{param}"] = qkv.narrow(0, 0, 64);
                hf[$"{l}attention.attention.key.{param}"] = qkv.narrow(0, 64, 64);
                hf[$"{l}attention.attention.value.{param}"] = qkv.narrow(0, 128, 64);
                hf[$"{l}attention.output.dense.{param}"] = timm[$"{b}attn.proj.{param}"];
                hf[$"{l}intermediate.dense.{param}"] = timm[$"{b}mlp.fc1.{param}"];
                hf[$"{l}output.dense.{param}"] = timm[$"{b}mlp.fc2.{param}"];
                hf[$"{l}layernorm_before.{param}"] = timm[$"{b}norm1.{param}"];
                hf[$"{l}layernorm_after.{param}"] = timm[$"{b}norm2.{param}"];
            }
        }
        return hf;
    }

    [Fact]
    public void HuggingFaceNamedCheckpointReproducesTimmOutputs()
    {
        using var io = TimmFixture.ReadIo();
        using var timm = StateDictFile.Read(TimmFixture.Safetensors);
        using var hf = HuggingFaceCheckpoint(timm);   // shares tensors with timm (disposing twice is harmless)
        using var model = new VisionTransformer(TimmFixture.Options());

        var report = ModelWeights.Load(model, hf);   // naming detected from the keys
        model.eval();

        report.IsExactMatch.Should().BeTrue(report.ToString());
        using var noGrad = no_grad();
        using var feat = model.ForwardFeatures(io["x"]);
        using var y = model.forward(io["x"]);
        TimmParityTests.MaxAbsDiff(feat, io["feat"]).Should().BeLessThan(1e-5);
        TimmParityTests.MaxAbsDiff(y, io["y"]).Should().BeLessThan(1e-5);
    }

    [Fact]
    public void BareViTModelNamesMapAndPoolerIsReportedUnexpected()
    {
        using var timm = StateDictFile.Read(TimmFixture.Safetensors);
        using var hf = HuggingFaceCheckpoint(timm, withVitPrefix: false, withClassifier: false);
        hf["pooler.dense.weight"] = timm["blocks.0.attn.proj.weight"];
        using var model = new VisionTransformer(TimmFixture.Options());

        var report = ModelWeights.Load(model, hf, new WeightLoadOptions { Strict = false, Naming = CheckpointNaming.HuggingFace });

        report.Missing.Should().BeEquivalentTo("head.weight", "head.bias");
        report.Unexpected.Should().Equal("pooler.dense.weight");
        report.ShapeMismatches.Should().BeEmpty();
    }

    [Fact]
    public void FusedQkvIsQueryKeyValueStacked()
    {
        using var q = full(2, 2, 1f);
        using var k = full(2, 2, 2f);
        using var v = full(2, 2, 3f);
        var hf = new Dictionary<string, Tensor>
        {
            ["vit.encoder.layer.3.attention.attention.query.weight"] = q,
            ["vit.encoder.layer.3.attention.attention.key.weight"] = k,
            ["vit.encoder.layer.3.attention.attention.value.weight"] = v,
        };
        using var timm = HuggingFaceVit.ToTimmNames(hf);

        timm.Keys.Should().Equal("blocks.3.attn.qkv.weight");
        timm["blocks.3.attn.qkv.weight"].select(1, 0).data<float>().ToArray().Should().Equal(1f, 1f, 2f, 2f, 3f, 3f);
    }

    [Fact]
    public void LayerNormBeforeIsNorm1AndLayerNormAfterIsNorm2()
    {
        // Distinct values per norm, so a swapped map cannot pass (HF ViTLayer: layernorm_before feeds attention).
        using var before = full(4, 1.5f);
        using var beforeBias = full(4, -0.5f);
        using var after = full(4, 2.5f);
        using var afterBias = full(4, 0.25f);
        var hf = new Dictionary<string, Tensor>
        {
            ["vit.encoder.layer.1.layernorm_before.weight"] = before,
            ["vit.encoder.layer.1.layernorm_before.bias"] = beforeBias,
            ["vit.encoder.layer.1.layernorm_after.weight"] = after,
            ["vit.encoder.layer.1.layernorm_after.bias"] = afterBias,
        };
        using var timm = HuggingFaceVit.ToTimmNames(hf);

        timm.Keys.Should().BeEquivalentTo("blocks.1.norm1.weight", "blocks.1.norm1.bias", "blocks.1.norm2.weight", "blocks.1.norm2.bias");
        timm["blocks.1.norm1.weight"].data<float>().ToArray().Should().AllBeEquivalentTo(1.5f);
        timm["blocks.1.norm1.bias"].data<float>().ToArray().Should().AllBeEquivalentTo(-0.5f);
        timm["blocks.1.norm2.weight"].data<float>().ToArray().Should().AllBeEquivalentTo(2.5f);
        timm["blocks.1.norm2.bias"].data<float>().ToArray().Should().AllBeEquivalentTo(0.25f);
    }

    [Fact]
    public void IncompleteQkvIsAnError()
    {
        using var q = zeros(2, 2);
        var hf = new Dictionary<string, Tensor> { ["vit.encoder.layer.0.attention.attention.query.bias"] = q };

        var act = () => HuggingFaceVit.ToTimmNames(hf);

        act.Should().Throw<WeightFileException>().WithMessage("*key, value*blocks.0.attn.qkv.bias*");
    }

    [Fact]
    public void ConfigJsonGivesEncoderOptionsWithItsLayerNormEps()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, """
            {
              "architectures": ["ViTForImageClassification"],
              "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 256,
              "image_size": 32, "patch_size": 8, "num_channels": 3, "qkv_bias": true,
              "layer_norm_eps": 1e-12, "hidden_act": "gelu",
              "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
              "id2label": {"0": "a", "1": "b", "2": "c"}
            }
            """);
        try
        {
            var o = HuggingFaceVit.ReadOptions(path);

            (o.EmbedDim, o.Depth, o.NumHeads, o.MlpRatio, o.ImageHeight, o.ImageWidth, o.PatchSize, o.InChannels)
                .Should().Be((64, 2, 4, 4.0, 32, 32, 8, 3));
            o.NormEps.Should().Be(1e-12);
            o.NumClasses.Should().Be(3);
            o.Activation.Should().Be(MlpActivation.Gelu);
            o.UsesFcNorm.Should().BeFalse();
            o.Validate().Should().BeEmpty();

            File.WriteAllText(path, """{"hidden_act": "swish"}""");
            var bad = () => HuggingFaceVit.ReadOptions(path);
            bad.Should().Throw<WeightFileException>().WithMessage($"*{path}*hidden_act = \"swish\"*allowed: \"gelu\" or \"relu\"*");
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData("""{"hidden_size": 64,""", "not valid JSON")]
    [InlineData("""[1, 2]""", "$ = [1, 2]*a JSON object")]
    [InlineData("""{"layer_norm_eps": "1e-12"}""", "layer_norm_eps = \"1e-12\"*a number")]
    [InlineData("""{"hidden_size": "64"}""", "hidden_size = \"64\"*an integer")]
    [InlineData("""{"hidden_size": 0}""", "hidden_size = 0*a positive integer")]
    [InlineData("""{"patch_size": [16, 8]}""", "patch_size = [16, 8]*an integer")]
    [InlineData("""{"qkv_bias": "false"}""", "qkv_bias = \"false\"*true or false")]
    [InlineData("""{"hidden_act": 3}""", "hidden_act = 3*gelu")]
    [InlineData("""{"architectures": ["ViTForImageClassification"], "id2label": ["a", "b"]}""", "id2label = [*an object")]
    public void A_malformed_or_wrongly_typed_config_json_is_a_weight_file_error_naming_the_file_and_field(string json, string message)
    {
        var path = Path.Combine(Path.GetTempPath(), $"hf-config-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try
        {
            var read = () => HuggingFaceVit.ReadOptions(path);
            read.Should().Throw<WeightFileException>().Where(e => e.FilePath == path).WithMessage($"*{path}*{message}*");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_missing_config_json_is_a_weight_file_error_naming_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hf-config-{Guid.NewGuid():N}.json");
        var read = () => HuggingFaceVit.ReadOptions(path);
        read.Should().Throw<WeightFileException>().Where(e => e.FilePath == path).WithMessage($"*{path}*does not exist*");
    }
}
