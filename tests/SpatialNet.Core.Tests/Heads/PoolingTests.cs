using FluentAssertions;
using SpatialNet.Heads;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

public class PoolingTests
{
    private static readonly TokenLayout WithClassToken = new(EmbedDim: 8, NumPrefixTokens: 1);
    private static readonly TokenLayout WithoutClassToken = new(EmbedDim: 8, NumPrefixTokens: 0);

    public static TheoryData<PoolingKind, int> KindsAndPrefixes => new()
    {
        { PoolingKind.ClassToken, 1 },
        { PoolingKind.Mean, 1 },
        { PoolingKind.Mean, 0 },
        { PoolingKind.Attention, 1 },
        { PoolingKind.Attention, 0 },
    };

    [Theory]
    [MemberData(nameof(KindsAndPrefixes))]
    public void EveryPoolingMapsTokensToOneVectorPerImage(PoolingKind kind, int prefix)
    {
        var layout = new TokenLayout(8, prefix);
        using var pooling = TokenPooling.Create(kind, layout, attentionHeads: 2);
        using var tokens = randn(3, prefix + 5, 8);

        using var pooled = pooling.call(tokens);

        pooling.Kind.Should().Be(kind);
        pooled.shape.Should().Equal(3, 8);
    }

    [Fact]
    public void ClassTokenPoolingReturnsTokenZero()
    {
        using var pooling = new ClassTokenPooling(WithClassToken);
        using var tokens = randn(2, 4, 8);

        using var pooled = pooling.call(tokens);

        using var expected = tokens[.., 0, ..];
        pooled.allclose(expected).Should().BeTrue();
    }

    [Fact]
    public void MeanPoolingAveragesPatchTokensOnly()
    {
        using var pooling = new MeanPooling(WithClassToken);
        // Class token holds 100s; patches hold 1, 2, 3 → mean 2 only if the class token is left out.
        using var tokens = stack([full(8, 100f), full(8, 1f), full(8, 2f), full(8, 3f)]).unsqueeze(0);

        using var pooled = pooling.call(tokens);

        pooled.shape.Should().Equal(1, 8);
        pooled.data<float>().ToArray().Should().AllSatisfy(v => v.Should().BeApproximately(2f, 1e-6f));
    }

    [Fact]
    public void AttentionPoolingOfIdenticalTokensIsTheProjectedValueOfThatToken()
    {
        // Softmax weights sum to 1, so attending over copies of one token returns that token's value
        // whatever the query: pooled = proj(v(x)). Checks the query/key/value wiring independently.
        using var pooling = new AttentionPooling(WithoutClassToken, numHeads: 2);
        using var token = randn(1, 1, 8);
        using var tokens = token.expand(1, 6, 8).contiguous();

        using var pooled = pooling.call(tokens);

        var parameters = pooling.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var kvWeight = parameters["kv.weight"];
        using var vWeight = kvWeight[8..16, ..];
        using var vBias = parameters["kv.bias"][8..16];
        using var value = token.reshape(1, 8).matmul(vWeight.t()) + vBias;
        using var expected = value.matmul(parameters["proj.weight"].t()) + parameters["proj.bias"];
        pooled.allclose(expected, rtol: 1e-5, atol: 1e-6).Should().BeTrue();
        parameters.Keys.Should().BeEquivalentTo("latent", "q.weight", "q.bias", "kv.weight", "kv.bias", "proj.weight", "proj.bias");
    }

    [Fact]
    public void ClassTokenPoolingWithoutAClassTokenIsRejectedWithTheAlternatives()
    {
        var act = () => new ClassTokenPooling(WithoutClassToken);

        act.Should().Throw<ArgumentException>().WithMessage("*needs an encoder with a class token*Mean, Attention*");
    }

    [Fact]
    public void AttentionPoolingHeadsMustDivideTheWidth()
    {
        var act = () => new AttentionPooling(WithClassToken, numHeads: 3);

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*positive divisor of the token width D = 8*");
    }

    [Fact]
    public void PoolingRejectsTokensOfAnotherWidth()
    {
        using var pooling = new MeanPooling(WithClassToken);
        using var tokens = randn(2, 5, 6);

        var act = () => pooling.call(tokens);

        act.Should().Throw<ArgumentException>().WithMessage("*expects tokens [B, N, 8]*got [2, 5, 6]*");
    }
}
