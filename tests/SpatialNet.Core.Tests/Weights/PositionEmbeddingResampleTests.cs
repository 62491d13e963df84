using FluentAssertions;
using SpatialNet.Modules;
using SpatialNet.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Weights;

public class PositionEmbeddingResampleTests
{
    [Fact]
    public void SameGridIsTheIdentity()
    {
        using var pos = randn(1, 1 + 12, 5);
        using var same = PositionEmbeddings.Resample(pos, (3, 4), (3, 4), 1);

        same.allclose(pos, rtol: 0, atol: 0).Should().BeTrue();
    }

    [Theory]
    [InlineData(1, 4, 4, 6, 6)]
    [InlineData(1, 4, 4, 2, 3)]
    [InlineData(0, 3, 5, 7, 2)]
    public void ResampledEmbeddingHasTheNewGridAndKeepsPrefixTokens(int prefix, int r0, int c0, int r1, int c1)
    {
        using var pos = randn(1, prefix + r0 * c0, 8);
        using var resized = PositionEmbeddings.Resample(pos, (r0, c0), (r1, c1), prefix);

        resized.shape.Should().Equal(1, prefix + r1 * c1, 8);
        if (prefix > 0)
            resized.narrow(1, 0, prefix).allclose(pos.narrow(1, 0, prefix), rtol: 0, atol: 0).Should().BeTrue();
    }

    [Fact]
    public void ConstantEmbeddingStaysConstant()
    {
        // Interpolation weights sum to one, so a constant grid resizes to the same constant.
        using var pos = full(1, 16, 3, 0.25f);
        using var up = PositionEmbeddings.Resample(pos, (4, 4), (7, 5), 0);
        using var down = PositionEmbeddings.Resample(pos, (4, 4), (2, 3), 0);

        up.allclose(full(1, 35, 3, 0.25f), atol: 1e-6).Should().BeTrue();
        down.allclose(full(1, 6, 3, 0.25f), atol: 1e-6).Should().BeTrue();
    }

    [Theory]
    [InlineData(2, 3, 3, 5)]   // upsampling
    [InlineData(6, 4, 3, 2)]   // downsampling (antialiasing widens the kernel)
    [InlineData(4, 4, 6, 2)]   // mixed
    public void MatchesAnIndependentAntialiasedBicubicReference(int r0, int c0, int r1, int c1)
    {
        torch.manual_seed(11);
        using var pos = randn(1, 1 + r0 * c0, 2, dtype: float64);
        using var resized = PositionEmbeddings.Resample(pos, (r0, c0), (r1, c1), 1);

        var rows = AntialiasedBicubicWeights(r0, r1);
        var cols = AntialiasedBicubicWeights(c0, c1);
        for (int ch = 0; ch < 2; ch++)
            for (int i = 0; i < r1; i++)
                for (int j = 0; j < c1; j++)
                {
                    double expected = 0;
                    for (int a = 0; a < r0; a++)
                        for (int b = 0; b < c0; b++)
                            expected += rows[i, a] * cols[j, b] * pos[0, 1 + a * c0 + b, ch].item<double>();
                    // Computed in float32 (as timm does), so compare at float32 precision.
                    resized[0, 1 + i * c1 + j, ch].item<double>().Should().BeApproximately(expected, 1e-5);
                }
    }

    /// <summary>
    /// 1-D weights of the antialiased bicubic resize used by PIL and by PyTorch's
    /// <c>interpolate(mode='bicubic', antialias=True)</c>: cubic kernel with a = −0.5, sample centres at
    /// (i + 0.5)·scale, support 2·max(scale, 1), kernel stretched by the scale when shrinking, taps
    /// outside the input dropped and the weights renormalised. Written from that description.
    /// </summary>
    private static double[,] AntialiasedBicubicWeights(int inSize, int outSize)
    {
        static double Cubic(double x)
        {
            const double a = -0.5;
            x = Math.Abs(x);
            if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
            if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
            return 0;
        }
        double scale = (double)inSize / outSize;
        double support = 2.0 * Math.Max(scale, 1.0);
        double stretch = Math.Max(scale, 1.0);
        var w = new double[outSize, inSize];
        for (int i = 0; i < outSize; i++)
        {
            double centre = (i + 0.5) * scale;
            int lo = Math.Max((int)(centre - support + 0.5), 0);
            int hi = Math.Min((int)(centre + support + 0.5), inSize);
            double total = 0;
            for (int k = lo; k < hi; k++) total += w[i, k] = Cubic((k - centre + 0.5) / stretch);
            for (int k = lo; k < hi; k++) w[i, k] /= total;
        }
        return w;
    }

    [Fact]
    public void LoadingIntoALargerGridResamplesAndReportsIt()
    {
        using var checkpoint = StateDictFile.Read(TimmFixture.Safetensors);
        var options = TimmFixture.Options();
        options.ImageHeight = 48; options.ImageWidth = 40;   // 6×5 grid instead of 4×4
        using var model = new VisionTransformer(options);

        var report = ModelWeights.Load(model, checkpoint);

        report.IsExactMatch.Should().BeTrue(report.ToString());
        report.Adapted.Should().ContainSingle().Which.Should().Contain("pos_embed").And.Contain("4×4").And.Contain("6×5");
        using var expected = PositionEmbeddings.Resample(checkpoint["pos_embed"], (4, 4), (6, 5), 1);
        model.state_dict()["pos_embed"].allclose(expected, rtol: 0, atol: 0).Should().BeTrue();
        model.state_dict()["pos_embed"].shape.Should().Equal(1, 31, 64);
    }

    [Fact]
    public void ResamplingCanBeSwitchedOff()
    {
        var options = TimmFixture.Options();
        options.ImageSize = 48;
        using var model = new VisionTransformer(options);

        var report = ModelWeights.Load(model, TimmFixture.Safetensors, new WeightLoadOptions { Strict = false, ResamplePositionEmbedding = false });

        report.ShapeMismatches.Select(m => m.Key).Should().Equal("pos_embed");
        report.Adapted.Should().BeEmpty();
    }
}
