using FluentAssertions;
using SpatialNet.Modules;
using SpatialNet.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Modules;

/// <summary>
/// Checks that fixtures whose LayerNorms are all ones and zeros cannot make: which norm sits where,
/// the Hugging Face default epsilon, and a strict load refused for one shape mismatch.
/// </summary>
public class NormOrderTests
{
    /// <summary>LayerNorm by its formula: (x − mean)/√(var + ε)·w + b over the last dimension (biased variance).</summary>
    private static Tensor LayerNorm(Tensor x, double w, double b, double eps)
    {
        var mean = x.mean([-1L], keepdim: true);
        var variance = (x - mean).square().mean([-1L], keepdim: true);
        return (x - mean) / (variance + eps).sqrt() * w + b;
    }

    [Fact]
    public void EncoderBlock_AppliesNorm1BeforeAttentionAndNorm2BeforeTheMlp()
    {
        manual_seed(3);
        var options = new VisionTransformerOptions { EmbedDim = 8, NumHeads = 2, MlpRatio = 2 };
        using var block = new EncoderBlock(options);
        block.to(float64);
        block.eval();
        var modules = block.named_modules().ToDictionary(m => m.name, m => m.module);
        var p = block.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        using (no_grad())
        {
            p["norm1.weight"].fill_(2.0);
            p["norm1.bias"].fill_(0.5);
            p["norm2.weight"].fill_(-1.5);
            p["norm2.bias"].fill_(0.25);
        }
        using var x = randn(2, 5, 8, dtype: float64);

        using var actual = block.call(x);

        // x1 = x + attn(LN₁(x)); y = x1 + mlp(LN₂(x1)), with LN₁ (w 2, b 0.5) and LN₂ (w −1.5, b 0.25) by the formula.
        var attn = (nn.Module<Tensor, Tensor>)modules["attn"];
        var mlp = (nn.Module<Tensor, Tensor>)modules["mlp"];
        using var x1 = x + attn.call(LayerNorm(x, 2.0, 0.5, options.NormEps));
        using var expected = x1 + mlp.call(LayerNorm(x1, -1.5, 0.25, options.NormEps));
        actual.allclose(expected, rtol: 0, atol: 1e-10).Should().BeTrue();
    }

    [Fact]
    public void HuggingFaceConfig_WithoutLayerNormEps_UsesTheirDefault1e12()
    {
        var path = Path.Combine(Path.GetTempPath(), $"spatialnet-hf-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, """{ "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "image_size": 32, "patch_size": 8, "qkv_bias": false }""");

            var options = HuggingFaceVit.ReadOptions(path);

            // transformers' ViTConfig: layer_norm_eps = 1e-12 when the file leaves it out; qkv_bias as written.
            options.NormEps.Should().Be(1e-12);
            options.QkvBias.Should().BeFalse();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void StrictLoad_RefusesACheckpointWhoseOnlyProblemIsOneShapeMismatch()
    {
        using var model = nn.Linear(2, 2);
        using var before = model.weight!.detach().clone();
        using var beforeBias = model.bias!.detach().clone();
        var checkpoint = new Dictionary<string, Tensor> { ["weight"] = ones(3, 2), ["bias"] = full(2, 7f) };

        var act = () => ModelWeights.Load(model, checkpoint, new WeightLoadOptions { Strict = true });

        act.Should().Throw<WeightLoadException>().WithMessage("*loaded 1*shape mismatches 1*shape mismatch: weight: model [2, 2], checkpoint [3, 2]*");
        model.weight!.eq(before).all().item<bool>().Should().BeTrue("a refused strict load leaves the model unchanged");
        model.bias!.eq(beforeBias).all().item<bool>().Should().BeTrue("nothing is copied, not even the matching bias");
    }
}
