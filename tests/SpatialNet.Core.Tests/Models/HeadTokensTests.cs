using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Models;

/// <summary>Heads read normalised tokens in every encoder layout (timm's forward_head normalises what it pools).</summary>
public class HeadTokensTests
{
    [Theory]
    [InlineData(true, "norm")]
    [InlineData(false, "fc_norm")]
    public void HeadsReceiveTokensAfterTheFinalLayerNorm(bool classToken, string finalNorm)
    {
        manual_seed(4);
        var vit = new VisionTransformer(new VisionTransformerOptions
        {
            ImageSize = 16, PatchSize = 8, EmbedDim = 8, Depth = 1, NumHeads = 2,
            ClassToken = classToken, GlobalPool = classToken ? GlobalPool.Token : GlobalPool.Average,
        });
        vit.eval();
        using (no_grad())
        {
            // Distinct affine parameters (not ones and zeros), so the norm's effect is visible.
            var p = vit.named_parameters().ToDictionary(x => x.name, x => x.parameter);
            p[$"{finalNorm}.weight"].fill_(2.0f);
            p[$"{finalNorm}.bias"].fill_(0.5f);
        }
        var layout = TokenLayout.Of(vit);
        var head = new RegressionHead("r", layout, new RegressionHeadOptions { Pooling = PoolingKind.Mean });
        using var model = new MultiTaskModel(vit, [head]);
        model.eval();
        using var x = randn(2, 3, 16, 16);

        using var tokens = ((IImageEncoder)vit).ForwardTokens(x);

        // LayerNorm with weight 2 and bias 0.5: (t − 0.5)/2 has mean 0 and (biased) variance σ²/(σ² + ε) ≈ 1 over D for every token
        // (the class token varies little, so ε = 1e-6 shows in the third digit).
        using var standard = (tokens - 0.5) / 2;
        standard.mean([-1L]).abs().max().item<float>().Should().BeLessThan(1e-5f);
        standard.var([-1L], unbiased: false).sub(1).abs().max().item<float>().Should().BeLessThan(2e-2f);
        // And the model's head reads exactly these tokens.
        using var expected = head.call(tokens, TaskHead.NoInputs);
        using var actual = model.Forward(x)["r"];
        actual.allclose(expected, rtol: 0, atol: 1e-6).Should().BeTrue();
    }
}
