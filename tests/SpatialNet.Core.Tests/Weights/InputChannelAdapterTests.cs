using FluentAssertions;
using SpatialNet.Modules;
using SpatialNet.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Weights;

public class InputChannelAdapterTests
{
    [Fact]
    public void OneBandWeightIsTheSumOfTheRgbWeights()
    {
        using var rgb = randn(4, 3, 2, 2);
        using var one = InputChannelAdapter.Adapt(rgb, 1);
        using var expected = rgb.narrow(1, 0, 1) + rgb.narrow(1, 1, 1) + rgb.narrow(1, 2, 1);

        one.shape.Should().Equal(4, 1, 2, 2);
        one.allclose(expected, rtol: 1e-6, atol: 1e-7).Should().BeTrue();
    }

    [Fact]
    public void ThirteenBandsRepeatRgbAndScaleByThreeThirteenths()
    {
        // timm: repeat the RGB weights ceil(13/3) = 5 times, keep 13, multiply by 3/13.
        using var rgb = randn(4, 3, 2, 2);
        using var adapted = InputChannelAdapter.Adapt(rgb, 13);
        using var expected = rgb.repeat(1, 5, 1, 1).narrow(1, 0, 13) * (3.0 / 13.0);

        adapted.shape.Should().Equal(4, 13, 2, 2);
        adapted.allclose(expected, rtol: 1e-6, atol: 1e-7).Should().BeTrue();
        // Band 12 is band 12 mod 3 = 0 scaled: a hand check on one value.
        adapted[1, 12, 0, 1].item<float>().Should().BeApproximately(rgb[1, 0, 0, 1].item<float>() * 3f / 13f, 1e-6f);
    }

    [Fact]
    public void GeneralRuleRepeatsSourceBandsCyclically()
    {
        // 4 → 6 bands: bands 0,1,2,3,0,1 of the source, times 4/6.
        using var four = arange(4, dtype: float32).reshape(1, 4, 1, 1) + 1;   // 1,2,3,4
        using var six = InputChannelAdapter.Adapt(four, 6);
        using var two = InputChannelAdapter.Adapt(four, 2);                   // bands 0,1 × 4/2

        using var expectedSix = tensor(new[] { 1f, 2f, 3f, 4f, 1f, 2f }) * (4.0 / 6.0);
        six.flatten().allclose(expectedSix, rtol: 1e-6, atol: 0).Should().BeTrue();
        two.flatten().data<float>().ToArray().Should().Equal(2f, 4f);
    }

    [Theory]
    [InlineData(1, 1)]   // a grey image
    [InlineData(6, 2)]   // the RGB image repeated twice over six bands
    public void AdaptedModelGivesTheRgbModelsResponseToRepeatedBands(int bands, int repeats)
    {
        // A 1-band model on image g equals the RGB model on (g, g, g); a 6-band model on (r,g,b,r,g,b)
        // equals the RGB model on (r, g, b) — the property the rule is built to keep (N divides M).
        using var io = TimmFixture.ReadIo();
        using var rgbModel = new VisionTransformer(TimmFixture.Options());
        ModelWeights.Load(rgbModel, TimmFixture.Safetensors);
        var options = TimmFixture.Options();
        options.InChannels = bands;
        using var model = new VisionTransformer(options);
        var report = ModelWeights.Load(model, TimmFixture.Safetensors);
        rgbModel.eval(); model.eval();

        report.Adapted.Should().ContainSingle().Which.Should().Contain("patch_embed.proj.weight").And.Contain($"3 to {bands}");
        using var noGrad = no_grad();
        using var rgbInput = bands == 1 ? io["x"].narrow(1, 0, 1).expand(-1, 3, -1, -1).contiguous() : io["x"].alias();
        using var input = bands == 1 ? io["x"].narrow(1, 0, 1).contiguous() : io["x"].repeat(1, repeats, 1, 1);
        using var expected = rgbModel.forward(rgbInput);
        using var actual = model.forward(input);

        TimmParityTests.MaxAbsDiff(actual, expected).Should().BeLessThan(1e-5);
    }
}
