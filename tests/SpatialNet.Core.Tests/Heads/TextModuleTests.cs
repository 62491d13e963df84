using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

public class TextModuleTests
{
    [Fact]
    public void CrossAttentionWithIdentityProjectionsIsSoftmaxOfScaledDotProductsTimesMemory()
    {
        // One head, D = D_m = 2, q = k = v = proj = identity, no bias:
        // out_t = Σ_n softmax_n(x_t·m_n / √2) m_n, computed here by hand.
        using var attention = new CrossAttention(2, 1, qkvBias: false);
        SetIdentityWeights(attention);
        using var x = tensor(new float[] { 1, 0 }).reshape(1, 1, 2);
        using var memory = tensor(new float[] { 1, 0, 0, 2 }).reshape(1, 2, 2);

        using var y = attention.call(x, memory);

        // scores: x·m0 = 1, x·m1 = 0 → /√2 → 0.7071068, 0; softmax → w0 = 1/(1+e^-0.7071068) = 0.6697615, w1 = 0.3302385
        // out = w0·[1, 0] + w1·[0, 2] = [0.6697615, 0.6604770]
        y.shape.Should().Equal(1, 1, 2);
        y[0, 0, 0].item<float>().Should().BeApproximately(0.6697615f, 1e-5f);
        y[0, 0, 1].item<float>().Should().BeApproximately(0.6604770f, 1e-5f);
    }

    [Fact]
    public void CrossAttentionIgnoresMaskedMemoryTokensAndAcceptsAnotherMemoryWidth()
    {
        using var attention = new CrossAttention(8, 2, memoryDim: 6);
        using var x = randn(2, 3, 8);
        using var memory = randn(2, 4, 6);
        using var changed = memory.clone();
        changed[.., 3] = randn(2, 6) * 10;
        using var mask = tensor(new[] { true, true, true, false }).reshape(1, 1, 1, 4);

        using var a = attention.Forward(x, memory, mask);
        using var b = attention.Forward(x, changed, mask);
        using var c = attention.Forward(x, changed, null);

        a.shape.Should().Equal(2, 3, 8);
        a.allclose(b, atol: 1e-6).Should().BeTrue("the last memory token is masked out");
        a.allclose(c, atol: 1e-3).Should().BeFalse("without the mask the changed token is seen");
    }

    [Fact]
    public void SelfAttentionKeyPaddingMaskHidesPaddedTokensFromTheOthers()
    {
        using var block = new EncoderBlock(new VisionTransformerOptions { EmbedDim = 8, NumHeads = 2 });
        using var x = randn(1, 4, 8);
        using var changed = x.clone();
        changed[0, 3] = randn(8) * 10;
        using var valid = tensor(new[] { true, true, true, false }).reshape(1, 4);
        using var mask = TextMasks.KeyPadding(valid);

        using var a = block.Forward(x, mask);
        using var b = block.Forward(changed, mask);

        a.narrow(1, 0, 3).allclose(b.narrow(1, 0, 3), atol: 1e-6).Should().BeTrue();
    }

    [Fact]
    public void MasksFollowTheirDefinitions()
    {
        using var causal = TextMasks.Causal(3);
        causal.data<bool>().ToArray().Should().Equal(true, false, false, true, true, false, true, true, true);

        // A sequence with no real token may attend everywhere (no NaN), the others only to real tokens.
        using var valid = tensor(new[] { true, false, false, false }).reshape(2, 2);
        using var keyPadding = TextMasks.KeyPadding(valid);
        keyPadding.shape.Should().Equal(2, 1, 1, 2);
        keyPadding.reshape(-1).data<bool>().ToArray().Should().Equal(true, false, true, true);

        using var ids = tensor(new long[] { 4, 0, 7 }).reshape(1, 3);
        using var realTokens = TextMasks.Valid(ids, padId: 0);
        realTokens.data<bool>().ToArray().Should().Equal(true, false, true);
    }

    [Fact]
    public void MaskedMeanAveragesOnlyRealTokens()
    {
        // Row 0: tokens [1, 2], [3, 4], [100, 100] with the last padded → [2, 3]. Row 1: no real token → [0, 0].
        using var tokens = tensor(new float[] { 1, 2, 3, 4, 100, 100, 5, 5, 5, 5, 5, 5 }).reshape(2, 3, 2);
        using var valid = tensor(new[] { true, true, false, false, false, false }).reshape(2, 3);

        using var mean = TextMasks.MaskedMean(tokens, valid);

        mean.data<float>().ToArray().Should().Equal(2f, 3f, 0f, 0f);
    }

    [Fact]
    public void TokenEmbeddingAddsPositionsAndNamesBadInput()
    {
        using var embedding = new TokenEmbedding(vocabSize: 5, maxLength: 4, dim: 3);
        using var ids = tensor(new long[] { 1, 1 }).reshape(1, 2);

        using var x = embedding.call(ids);

        // Same token at two positions differs exactly by the difference of the position vectors.
        var sd = embedding.state_dict();
        sd.Keys.Should().BeEquivalentTo("token_embed.weight", "pos_embed");
        using var positionDelta = sd["pos_embed"][0, 1] - sd["pos_embed"][0, 0];
        using var delta = x[0, 1] - x[0, 0];
        delta.allclose(positionDelta, atol: 1e-6).Should().BeTrue();

        using var tooLong = zeros(1, 5, dtype: int64);
        FluentActions.Invoking(() => embedding.call(tooLong)).Should().Throw<ArgumentException>().WithMessage("*length 5*allowed: 1 to 4*");
        using var outOfRange = tensor(new long[] { 5 }).reshape(1, 1);
        FluentActions.Invoking(() => embedding.call(outOfRange)).Should().Throw<ArgumentException>().WithMessage("*[0, 5)*5 to 5*");
    }

    private static void SetIdentityWeights(CrossAttention attention)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in attention.named_parameters())
        {
            if (name == "kv.weight")
            {
                parameter.copy_(cat([eye(2), eye(2)], 0));
            }
            else if (name.EndsWith("weight", StringComparison.Ordinal))
            {
                parameter.copy_(eye(2));
            }
            else
            {
                parameter.zero_();
            }
        }
    }
}
