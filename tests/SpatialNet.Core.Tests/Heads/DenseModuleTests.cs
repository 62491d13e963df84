using FluentAssertions;
using SpatialNet.Core.Tests.Modules;
using SpatialNet.Heads.Dense;
using SpatialNet.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

/// <summary>Encoder intermediates, dense decoders and per-pixel losses.</summary>
public sealed class DenseModuleTests
{
    [Fact]
    public void Intermediate_of_block_0_equals_a_one_block_encoder_with_the_same_weights()
    {
        manual_seed(3);
        using var two = new VisionTransformer(VisionTransformerTests.Small());
        using var one = new VisionTransformer(VisionTransformerTests.Small(o => o.Depth = 1));
        one.load_state_dict(two.state_dict(), strict: false);
        two.eval();
        one.eval();
        using var images = randn(2, 3, 32, 32);
        var (tokens, grids) = two.ForwardIntermediates(images, [0, -1], normalize: true);
        grids.Should().HaveCount(2);
        grids[0].shape.Should().Equal(2, 32, 4, 4);
        using var expected = one.ForwardFeatures(images);
        // Grid cell (r, c) is patch token 1 + 4r + c (after the class token).
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                grids[0][.., .., r, c].allclose(expected[.., 1 + 4 * r + c, ..], rtol: 0, atol: 1e-6).Should().BeTrue($"cell ({r}, {c})");
        using var features = two.ForwardFeatures(images);
        grids[1].flatten(2).transpose(1, 2).allclose(features[.., 1.., ..], rtol: 0, atol: 1e-6).Should().BeTrue("the last block, normalised, is forward_features");
        using var plain = two.ForwardTokens(images);
        tokens.allclose(plain, rtol: 0, atol: 0).Should().BeTrue("the tokens are ForwardTokens'");
    }

    [Fact]
    public void Intermediates_without_a_class_token_and_bad_indices()
    {
        using var vit = new VisionTransformer(VisionTransformerTests.Small(o => { o.ClassToken = false; o.GlobalPool = GlobalPool.Average; }));
        vit.eval();
        using var images = randn(1, 3, 32, 48);
        var (tokens, grids) = vit.ForwardIntermediates(images, [1]);
        grids[0].shape.Should().Equal(1, 32, 4, 6);
        tokens.allclose(vit.ForwardTokens(images), rtol: 0, atol: 0).Should().BeTrue();
        var act = () => vit.ForwardIntermediates(images, [2]);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Block index 2*[-2, 2)*");
    }

    [Fact]
    public void Linear_decoder_maps_each_token_and_upsamples_to_the_image()
    {
        using var decoder = new LinearDenseDecoder(embedDim: 4, patchSize: 8, outChannels: 3);
        // A constant grid stays constant under bilinear upsampling: every pixel is W·x + b.
        using var x = tensor(new float[] { 1, -2, 0.5f, 3 });
        using var grid = x.reshape(1, 4, 1, 1).expand(2, 4, 3, 5).contiguous();
        using var output = decoder.call([grid]);
        output.shape.Should().Equal(2, 3, 24, 40);
        var parameters = decoder.parameters().ToArray();
        using var expected = parameters[0].matmul(x) + parameters[1];
        output.amax([0, 2, 3]).allclose(expected, atol: 1e-5).Should().BeTrue();
        output.amin([0, 2, 3]).allclose(expected, atol: 1e-5).Should().BeTrue();
    }

    [Fact]
    public void Multi_level_decoder_outputs_the_image_size_and_trains_every_level()
    {
        manual_seed(5);
        using var decoder = new MultiLevelDenseDecoder(embedDim: 16, patchSize: 8, outChannels: 5, levels: [2, 5, 8, 11], channels: 8);
        var grids = Enumerable.Range(0, 4).Select(_ => randn(2, 16, 4, 4)).ToArray();
        using var output = decoder.call(grids);
        output.shape.Should().Equal(2, 5, 32, 32);
        output.square().mean().backward();
        foreach (var (name, p) in decoder.named_parameters())
            p.grad.Should().NotBeNull(name);
        decoder.named_parameters().Where(p => p.name.StartsWith("projections.", StringComparison.Ordinal) && p.name.EndsWith("weight", StringComparison.Ordinal))
            .Should().HaveCount(4).And.OnlyContain(p => p.parameter.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Cross_entropy_leaves_out_ignored_pixels_and_weights_by_class()
    {
        // Pixel 0: logits [0, ln 3], class 1 → −ln(3/4). Pixel 1 ignored.
        using var logits = tensor(new float[] { 0, 5, MathF.Log(3), -5 }, [1, 2, 1, 2]);
        using var target = tensor(new long[] { 1, 255 }, [1, 1, 2]);
        DenseLosses.CrossEntropy(logits, target).item<float>().Should().BeApproximately(MathF.Log(4f / 3), 1e-6f);

        // Pixel 1 now class 0 with logits [0, 0] (loss ln 2); weights [1, 2]: (2·ln(4/3) + 1·ln 2) / 3.
        using var logits2 = tensor(new float[] { 0, 0, MathF.Log(3), 0 }, [1, 2, 1, 2]);
        using var target2 = tensor(new long[] { 1, 0 }, [1, 1, 2]);
        using var weights = tensor(new float[] { 1, 2 });
        DenseLosses.CrossEntropy(logits2, target2, classWeights: weights).item<float>()
            .Should().BeApproximately((2 * MathF.Log(4f / 3) + MathF.Log(2)) / 3, 1e-6f);
    }

    [Fact]
    public void Cross_entropy_of_an_all_ignored_batch_is_zero_with_a_gradient()
    {
        using var logits = randn(1, 3, 2, 2).requires_grad_();
        using var target = full(new long[] { 1, 2, 2 }, 255L, ScalarType.Int64);
        using var loss = DenseLosses.CrossEntropy(logits, target);
        loss.item<float>().Should().Be(0);
        loss.backward();
        logits.grad!.abs().sum().item<float>().Should().Be(0);
    }

    [Fact]
    public void Dice_is_computed_over_not_ignored_pixels()
    {
        // Pixel 0: logits [0, 0] → p = (1/2, 1/2), class 0. Pixel 1 ignored.
        // Class 0: (2·½ + 1) / (½ + 1 + 1) = 0.8; class 1: (0 + 1) / (½ + 0 + 1) = 2/3. Loss 1 − (0.8 + 2/3)/2.
        using var logits = tensor(new float[] { 0, 7, 0, -3 }, [1, 2, 1, 2]);
        using var target = tensor(new long[] { 0, 255 }, [1, 1, 2]);
        DenseLosses.Dice(logits, target).item<float>().Should().BeApproximately(1 - (0.8f + 2f / 3) / 2, 1e-6f);
    }

    [Theory]
    [InlineData(false, 1.5)]
    [InlineData(true, 4.5)]
    public void Regression_loss_covers_valid_finite_targets_only(bool squared, double expected)
    {
        // Valid: (1 vs 4) error 3 and (2 vs 2) error 0; a NaN target and a masked pixel are left out.
        using var predictions = tensor(new float[] { 1, 2, 3, 4 }, [1, 1, 2, 2]).requires_grad_();
        using var targets = tensor(new float[] { 4, 2, float.NaN, 0 }, [1, 1, 2, 2]);
        using var valid = tensor(new[] { true, true, true, false }, [1, 2, 2]);
        using var loss = DenseLosses.MaskedRegression(predictions, targets, valid, squared);
        loss.item<float>().Should().BeApproximately((float)expected, 1e-6f);
        loss.backward();
        predictions.grad!.isfinite().all().item<bool>().Should().BeTrue();
        predictions.grad![0, 0, 1, 1].item<float>().Should().Be(0, "a masked pixel gets no gradient");
    }
}
