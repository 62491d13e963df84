using FluentAssertions;
using SpatialNet.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Modules;

public class VisionTransformerTests
{
    /// <summary>A fast configuration: D 32, 2 blocks, 4 heads, patch 8.</summary>
    internal static VisionTransformerOptions Small(Action<VisionTransformerOptions>? change = null)
    {
        var o = new VisionTransformerOptions { ImageSize = 32, PatchSize = 8, EmbedDim = 32, Depth = 2, NumHeads = 4, NumClasses = 5 };
        change?.Invoke(o);
        return o;
    }

    public static TheoryData<string, int, int, int, int> Configurations => new()
    {
        // name, input bands, input H, input W, expected token count
        { "token", 3, 32, 32, 1 + 16 },
        { "non-square", 3, 32, 48, 1 + 24 },
        { "resized", 3, 48, 40, 1 + 30 },
        { "avg-no-cls", 3, 32, 32, 16 },
        { "one-band", 1, 32, 32, 17 },
        { "thirteen-bands", 13, 32, 32, 17 },
        { "qknorm-layerscale-relu", 3, 32, 32, 17 },
        { "paper-tiny", 3, 64, 64, 65 },
    };

    internal static VisionTransformerOptions ConfigurationOptions(string name) => name switch
    {
        "token" => Small(),
        "non-square" => Small(o => { o.ImageHeight = 32; o.ImageWidth = 48; }),
        "resized" => Small(), // trained for 32×32, run on 48×40
        "avg-no-cls" => Small(o => { o.ClassToken = false; o.GlobalPool = GlobalPool.Average; }),
        "one-band" => Small(o => o.InChannels = 1),
        "thirteen-bands" => Small(o => o.InChannels = 13),
        "qknorm-layerscale-relu" => Small(o => { o.QkNorm = true; o.LayerScaleInit = 1e-5; o.Activation = MlpActivation.Relu; o.DropPathRate = 0.1; o.DropRate = 0.1; o.AttnDropRate = 0.1; }),
        "paper-tiny" => VisionTransformerOptions.Tiny(),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void FeaturesAndLogitsHaveTheExpectedShapes(string name, int bands, int h, int w, int tokens)
    {
        var options = ConfigurationOptions(name);
        using var vit = new VisionTransformer(options);
        vit.eval();
        using var x = randn(2, bands, h, w);
        using var feat = vit.ForwardFeatures(x);
        using var pooled = vit.Pool(feat);
        using var preLogits = vit.ForwardHead(feat, preLogits: true);
        using var logits = vit.forward(x);

        feat.shape.Should().Equal(2, tokens, options.EmbedDim);
        pooled.shape.Should().Equal(2, options.EmbedDim);
        preLogits.shape.Should().Equal(2, options.EmbedDim);
        logits.shape.Should().Equal(2, options.NumClasses == 0 ? options.EmbedDim : options.NumClasses);
        vit.NumPrefixTokens.Should().Be(options.ClassToken ? 1 : 0);
    }

    [Fact]
    public void StateDictNamesAreTimms()
    {
        using var vit = new VisionTransformer(Small(o => { o.Depth = 1; o.QkNorm = true; o.LayerScaleInit = 0.1; }));
        var expected = new List<string> { "cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias" };
        foreach (var p in new[] { "norm1", "attn.qkv", "attn.q_norm", "attn.k_norm", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2" })
            expected.AddRange([$"blocks.0.{p}.weight", $"blocks.0.{p}.bias"]);
        expected.AddRange(["blocks.0.ls1.gamma", "blocks.0.ls2.gamma", "norm.weight", "norm.bias", "head.weight", "head.bias"]);

        vit.state_dict().Keys.Should().BeEquivalentTo(expected);
    }

    [Fact]
    public void AveragePoolingUsesFcNormInsteadOfFinalNormAsTimm()
    {
        using var vit = new VisionTransformer(Small(o => { o.ClassToken = false; o.GlobalPool = GlobalPool.Average; }));
        var keys = vit.state_dict().Keys;

        keys.Should().Contain(["fc_norm.weight", "fc_norm.bias"]);
        keys.Should().NotContain(k => k.StartsWith("norm.") || k == "cls_token");
        vit.state_dict()["pos_embed"].shape.Should().Equal(1, 16, 32);
    }

    [Fact]
    public void PoolTakesClassTokenOrMeanOfPatchTokens()
    {
        using var tokens = arange(2 * 3 * 2, dtype: float32).reshape(2, 3, 2);
        using var tokenVit = new VisionTransformer(Small());
        using var avgVit = new VisionTransformer(Small(o => o.GlobalPool = GlobalPool.Average));
        using var first = tokenVit.Pool(tokens);
        using var mean = avgVit.Pool(tokens);

        // tokens[0] = [[0,1],[2,3],[4,5]], tokens[1] = [[6,7],[8,9],[10,11]]; the class token (row 0)
        // is left out of the average: mean of rows 1..2.
        first.data<float>().ToArray().Should().Equal(0f, 1f, 6f, 7f);
        mean.data<float>().ToArray().Should().Equal(3f, 4f, 9f, 10f);
    }

    [Fact]
    public void InputOfConfiguredSizeUsesPositionEmbeddingAsIs()
    {
        // A model configured for 48×40 holding the 32×32 model's embedding resampled must compute
        // the same as the 32×32 model resampling at run time.
        using var small = new VisionTransformer(Small());
        using var large = new VisionTransformer(Small(o => { o.ImageHeight = 48; o.ImageWidth = 40; }));
        small.eval(); large.eval();
        using (no_grad())
        {
            var src = small.state_dict();
            foreach (var (key, t) in large.state_dict())
            {
                if (key == "pos_embed")
                {
                    using var r = PositionEmbeddings.Resample(src[key], (4, 4), (6, 5), 1);
                    t.copy_(r);
                }
                else t.copy_(src[key]);
            }
        }
        using var x = randn(2, 3, 48, 40);
        using var a = small.ForwardFeatures(x);
        using var b = large.ForwardFeatures(x);

        a.allclose(b, rtol: 1e-5, atol: 1e-6).Should().BeTrue();
    }

    [Fact]
    public void DropPathRateRisesLinearlyOverBlocks()
    {
        using var vit = new VisionTransformer(Small(o => { o.Depth = 4; o.DropPathRate = 0.3; }));
        var rates = vit.named_modules()
            .Where(m => m.name.EndsWith(".drop_path1"))
            .ToDictionary(m => m.name, m => m.module is DropPath d ? d.DropProbability : 0.0);

        rates["blocks.0.drop_path1"].Should().Be(0.0);
        rates["blocks.1.drop_path1"].Should().BeApproximately(0.1, 1e-12);
        rates["blocks.2.drop_path1"].Should().BeApproximately(0.2, 1e-12);
        rates["blocks.3.drop_path1"].Should().BeApproximately(0.3, 1e-12);
    }

    [Fact]
    public void InitialisationFollowsTimm()
    {
        torch.manual_seed(1);
        using var vit = new VisionTransformer(new VisionTransformerOptions { ImageSize = 64, PatchSize = 8, EmbedDim = 128, Depth = 2, NumHeads = 4, NumClasses = 10 });
        var sd = vit.state_dict();

        sd["cls_token"].abs().max().item<float>().Should().BeLessThan(1e-5f);      // N(0, 1e-6)
        sd["pos_embed"].std().item<float>().Should().BeApproximately(0.02f, 0.002f);
        sd["blocks.0.attn.qkv.weight"].std().item<float>().Should().BeApproximately(0.02f, 0.001f);
        sd["blocks.1.mlp.fc2.weight"].std().item<float>().Should().BeApproximately(0.02f, 0.001f);
        sd["head.weight"].std().item<float>().Should().BeApproximately(0.02f, 0.004f);
        foreach (var bias in new[] { "blocks.0.attn.qkv.bias", "blocks.0.attn.proj.bias", "blocks.1.mlp.fc1.bias", "head.bias" })
            sd[bias].abs().max().item<float>().Should().Be(0f, bias);
        sd["norm.weight"].allclose(ones(128)).Should().BeTrue();
        // The patch convolution keeps PyTorch's default: U(−1/√fan_in, 1/√fan_in), fan_in = 3·8·8.
        double bound = 1 / Math.Sqrt(3 * 8 * 8);
        sd["patch_embed.proj.weight"].abs().max().item<float>().Should().BeLessThanOrEqualTo((float)bound);
    }

    [Fact]
    public void ResetClassifierReplacesTheHead()
    {
        using var vit = new VisionTransformer(Small());
        using var x = randn(2, 3, 32, 32);
        vit.ResetClassifier(7);
        using (var y = vit.forward(x)) y.shape.Should().Equal(2, 7);
        vit.state_dict()["head.weight"].shape.Should().Equal(7, 32);
        vit.NumClasses.Should().Be(7);

        vit.ResetClassifier(0);
        using (var y = vit.forward(x)) y.shape.Should().Equal(2, 32);
        vit.state_dict().Keys.Should().NotContain(k => k.StartsWith("head."));
    }

    [Fact]
    public void InvalidOptionsAreRejectedWithMessagesNamingTheOption()
    {
        var bad = Small(o => { o.NumHeads = 5; o.ImageWidth = 30; o.ClassToken = false; });

        var act = () => new VisionTransformer(bad);

        act.Should().Throw<ArgumentException>()
            .Where(e => e.Message.Contains("VisionTransformerOptions.NumHeads = 5")
                     && e.Message.Contains("VisionTransformerOptions.ImageWidth = 30")
                     && e.Message.Contains("needs ClassToken = true"));
        Small().Validate().Should().BeEmpty();
        VisionTransformerOptions.Paper().Validate().Should().BeEmpty();
        VisionTransformerOptions.Paper().GridSize.Should().Be((16, 16)); // 256 patches
    }

    [Fact]
    public void NonDivisibleInputIsRejected()
    {
        using var vit = new VisionTransformer(Small());
        using var x = zeros(1, 3, 36, 32);

        vit.Invoking(v => v.ForwardFeatures(x)).Should().Throw<ArgumentException>().WithMessage("*36×32*PatchSize = 8*");
    }
}
