using FluentAssertions;
using SpatialNet.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Modules;

public class ModuleShapeTests
{
    [Theory]
    [InlineData(3, 32, 32, 8, 16)]   // 4×4 patches
    [InlineData(3, 32, 48, 8, 24)]   // non-square: 4×6
    [InlineData(1, 16, 24, 4, 24)]   // one band, 4×6
    [InlineData(13, 24, 16, 8, 6)]   // Sentinel-2-like 13 bands, 3×2
    public void PatchEmbeddingMakesOneTokenPerPatch(int bands, int h, int w, int patch, int expectedTokens)
    {
        using var embed = new PatchEmbedding(bands, 20, patch);
        using var x = randn(2, bands, h, w);
        using var y = embed.call(x);

        y.shape.Should().Equal(2, expectedTokens, 20);
        embed.state_dict()["proj.weight"].shape.Should().Equal(20, bands, patch, patch);
    }

    [Fact]
    public void PatchEmbeddingTokensAreRowMajorPatches()
    {
        // With a kernel that only reads the top-left pixel of each patch, token k must equal the
        // pixel at (row·P, col·P) where row = k / cols, col = k % cols.
        using var embed = new PatchEmbedding(1, 1, 2);
        using (no_grad())
        {
            var sd = embed.state_dict();
            sd["proj.weight"].zero_();
            sd["proj.weight"][0, 0, 0, 0] = tensor(1f);
            sd["proj.bias"].zero_();
        }
        using var x = arange(4 * 6, dtype: float32).reshape(1, 1, 4, 6); // 2×3 patches
        using var y = embed.call(x);

        y.squeeze().data<float>().ToArray().Should().Equal(0f, 2f, 4f, 12f, 14f, 16f);
    }

    [Fact]
    public void PatchEmbeddingRejectsWrongBandsAndSizes()
    {
        using var embed = new PatchEmbedding(3, 8, 4);
        using var wrongBands = zeros(1, 4, 8, 8);
        using var wrongSize = zeros(1, 3, 8, 10);

        embed.Invoking(e => e.call(wrongBands)).Should().Throw<ArgumentException>().WithMessage("*4 bands*InChannels = 3*");
        embed.Invoking(e => e.call(wrongSize)).Should().Throw<ArgumentException>().WithMessage("*8×10*PatchSize = 4*");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AttentionKeepsTokenShapeAndNamesItsParametersLikeTimm(bool qkNorm)
    {
        using var attn = new MultiHeadSelfAttention(32, 4, qkNorm: qkNorm);
        using var x = randn(2, 7, 32);
        using var y = attn.call(x);

        y.shape.Should().Equal(2, 7, 32);
        var keys = attn.state_dict().Keys;
        keys.Should().Contain(["qkv.weight", "qkv.bias", "proj.weight", "proj.bias"]);
        attn.state_dict()["qkv.weight"].shape.Should().Equal(96, 32);
        if (qkNorm)
        {
            keys.Should().Contain(["q_norm.weight", "q_norm.bias", "k_norm.weight", "k_norm.bias"]);
            attn.state_dict()["q_norm.weight"].shape.Should().Equal(8);
        }
        else
            keys.Should().HaveCount(4);
    }

    [Fact]
    public void AttentionWithOneTokenReturnsProjectedValue()
    {
        // With a single token the softmax weight is 1, so the output is proj(v) whatever q and k are.
        using var attn = new MultiHeadSelfAttention(8, 2);
        using var x = randn(3, 1, 8);
        using var y = attn.call(x);
        var sd = attn.state_dict();
        using var v = nn.functional.linear(x, sd["qkv.weight"].narrow(0, 16, 8), sd["qkv.bias"].narrow(0, 16, 8));
        using var expected = nn.functional.linear(v, sd["proj.weight"], sd["proj.bias"]);

        y.allclose(expected, rtol: 1e-5, atol: 1e-6).Should().BeTrue();
    }

    [Theory]
    [InlineData(MlpActivation.Relu, 0.0, 2.0)]
    // GELU(x) = x·Φ(x): Φ(−1) = 0.158655254, Φ(2) = 0.977249868.
    [InlineData(MlpActivation.Gelu, -0.158655254, 1.954499736)]
    public void MlpAppliesTheChosenActivation(MlpActivation activation, double atMinusOne, double atTwo)
    {
        // fc1 and fc2 are identities, so the MLP computes act(x) (paper Eq. 5 with ReLU).
        using var mlp = new Mlp(2, 2, activation);
        using (no_grad())
        {
            var sd = mlp.state_dict();
            foreach (var name in new[] { "fc1", "fc2" })
            {
                sd[name + ".weight"].copy_(eye(2));
                sd[name + ".bias"].zero_();
            }
        }
        using var x = tensor(new float[] { -1f, 2f }).reshape(1, 2);
        using var y = mlp.call(x);
        var values = y.data<float>().ToArray();

        values[0].Should().BeApproximately((float)atMinusOne, 1e-6f);
        values[1].Should().BeApproximately((float)atTwo, 1e-6f);
    }

    [Fact]
    public void DropPathIsIdentityInEvalAndDropsWholeSamplesInTraining()
    {
        using var drop = new DropPath(0.5);
        using var x = ones(4000, 3);
        drop.eval();
        using (var y = drop.call(x)) y.allclose(x, rtol: 0, atol: 0).Should().BeTrue();

        drop.train();
        using var t = drop.call(x);
        // Each sample is either dropped (all 0) or kept and scaled by 1/(1 − 0.5) = 2.
        using var rowMin = t.amin([1L]);
        using var rowMax = t.amax([1L]);
        rowMin.allclose(rowMax, rtol: 0, atol: 0).Should().BeTrue();
        using var isZeroOrTwo = (rowMin == 0f).logical_or(rowMin == 2f);
        isZeroOrTwo.all().item<bool>().Should().BeTrue();
        // The expectation is unchanged: mean ≈ 1 (4000 samples: standard error 0.016).
        t.mean().item<float>().Should().BeApproximately(1f, 0.08f);
    }

    [Fact]
    public void LayerScaleMultipliesByItsInitialValue()
    {
        using var ls = new LayerScale(4, 1e-5);
        using var x = full(2, 4, 3.0f);
        using var y = ls.call(x);

        ls.state_dict().Keys.Should().Equal("gamma");
        y.allclose(full(2, 4, 3e-5f)).Should().BeTrue();
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(1e-5, true)]
    public void EncoderBlockHasLayerScaleOnlyWhenEnabled(double? layerScale, bool expectGamma)
    {
        var options = VisionTransformerOptions.Tiny();
        options.LayerScaleInit = layerScale;
        using var block = new EncoderBlock(options);
        using var x = randn(2, 5, 64);
        using var y = block.call(x);

        y.shape.Should().Equal(2, 5, 64);
        var keys = block.state_dict().Keys;
        keys.Contains("ls1.gamma").Should().Be(expectGamma);
        keys.Contains("ls2.gamma").Should().Be(expectGamma);
        keys.Should().Contain(["norm1.weight", "attn.qkv.weight", "attn.proj.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc2.bias"]);
    }
}
