using FluentAssertions;
using SpatialNet.Core.Tests.Modules;
using SpatialNet.Heads;
using SpatialNet.Heads.Dense;
using SpatialNet.Models;
using SpatialNet.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

/// <summary>Segmentation and per-pixel regression heads in the multi-task model, beside a global head.</summary>
public sealed class DenseHeadTests
{
    private static MultiTaskModel Model(DenseHeadOptions dense, bool regression = false)
    {
        var vit = new VisionTransformer(VisionTransformerTests.Small(o => o.NumClasses = 0));
        var layout = TokenLayout.Of(vit);
        TaskHead head = regression
            ? new PixelRegressionHead("height", layout, (PixelRegressionHeadOptions)dense, patchSize: 8)
            : new SegmentationHead("land", layout, (SegmentationHeadOptions)dense, patchSize: 8);
        return new MultiTaskModel(vit, [head, new ClassificationHead("scene", layout, new ClassificationHeadOptions { NumClasses = 3 })]);
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("mla")]
    public void Segmentation_outputs_every_pixel_and_leaves_the_global_head_unchanged(string decoder)
    {
        manual_seed(1);
        using var model = Model(new SegmentationHeadOptions { NumClasses = 4, Decoder = decoder, Levels = [-2, -1], DecoderChannels = 8 });
        model.eval();
        using var images = randn(2, 3, 32, 32);
        var outputs = model.Forward(images);
        outputs["land"].shape.Should().Equal(2, 4, 32, 32);
        var alone = model.Forward(images, tasks: ["scene"]);
        outputs["scene"].allclose(alone["scene"], rtol: 0, atol: 0).Should().BeTrue("the global head reads the same tokens whether or not a dense head runs");
        using var probabilities = model.Head("land").Predict(outputs["land"]);
        probabilities.sum(1).allclose(ones(2, 32, 32), atol: 1e-5).Should().BeTrue();
    }

    [Fact]
    public void Segmentation_learns_a_mask_that_the_image_shows()
    {
        manual_seed(2);
        using var model = Model(new SegmentationHeadOptions { NumClasses = 2, DiceWeight = 0.5 });
        // Band 0 constant over each 8×8 patch: class 1 where it is positive; a row of ignored pixels.
        using var patches = randn(4, 1, 4, 4).repeat_interleave(8, 2).repeat_interleave(8, 3);
        using var images = cat([patches, randn(4, 2, 32, 32)], 1);
        using var masks = patches[.., 0].gt(0).to(ScalarType.Int64);
        masks[.., 0, ..] = 255;
        using var optimizer = optim.Adam(model.parameters(), 3e-3);
        double first = 0, last = 0;
        for (int step = 0; step < 60; step++)
        {
            optimizer.zero_grad();
            using var scope = NewDisposeScope();
            var loss = model.Losses(model.Forward(images), new Dictionary<string, Tensor> { ["land"] = masks })["land"];
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        last.Should().BeLessThan(first * 0.7, "the head fits a mask that is a function of the pixels");
    }

    [Fact]
    public void Pixel_regression_loss_uses_normalised_finite_targets_and_predict_denormalises()
    {
        using var model = Model(new PixelRegressionHeadOptions { Outputs = 1, Loss = "mse", TargetMean = 10, TargetStd = 2 }, regression: true);
        var head = model.Head("height");
        // Outputs 1 everywhere ≙ 10 + 2·1 = 12 in target units. Targets 12 (error 0), 16 (normalised 3, error 2) and NaN.
        using var outputs = ones(1, 1, 2, 2);
        using var targets = tensor(new float[] { 12, 16, float.NaN, 12 }, [1, 2, 2]);
        head.Loss(outputs, targets).item<float>().Should().BeApproximately(4f / 3, 1e-6f);
        head.Predict(outputs).mean().item<float>().Should().Be(12f);
        head.Kind.Name.Should().Be("pixel_regression");
    }

    [Fact]
    public void Invalid_dense_options_name_the_task_and_option()
    {
        var layout = new TokenLayout(32, 1);
        var act = () => new SegmentationHead("land", layout, new SegmentationHeadOptions { NumClasses = 3, Decoder = "fpn", IgnoreIndex = 1, ClassWeights = [1, 2] }, 8);
        act.Should().Throw<ArgumentException>().WithMessage("*'land'*Decoder = fpn*linear or mla*")
            .And.Message.Should().Contain("IgnoreIndex = 1").And.Contain("ClassWeights = [1, 2]");
    }

    [Theory]
    [InlineData(12, new[] { 2, 5, 8, 11 })]
    [InlineData(24, new[] { 5, 11, 17, 23 })]
    [InlineData(2, new[] { 0, 1 })]
    public void Default_mla_levels_are_the_last_block_of_each_quarter(int depth, int[] expected) =>
        DenseHeadOptions.QuarterLevels(depth).Should().Equal(expected);
}
