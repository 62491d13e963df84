using FluentAssertions;
using SpatialNet.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Modules;

public class TimmInitTests
{
    [Fact]
    public void TruncNormalSamplesHaveTheRequestedSpread()
    {
        torch.manual_seed(7);
        using var t = empty(20000);
        TimmInit.TruncNormal_(t, mean: 0.0, std: 0.02);

        // Bounds ±2 are 100 σ away, so this is N(0, 0.02²): sample std within ~1% of 0.02.
        t.std().item<float>().Should().BeApproximately(0.02f, 0.0005f);
        t.mean().item<float>().Should().BeApproximately(0f, 0.001f);
    }

    [Fact]
    public void TruncNormalStaysWithinTightBounds()
    {
        torch.manual_seed(7);
        using var t = empty(20000);
        TimmInit.TruncNormal_(t, mean: 0.0, std: 1.0, a: -0.5, b: 1.0);

        t.min().item<float>().Should().BeGreaterThanOrEqualTo(-0.5f);
        t.max().item<float>().Should().BeLessThanOrEqualTo(1.0f);
        // Mean of N(0,1) truncated to [−0.5, 1]: (φ(−0.5) − φ(1)) / (Φ(1) − Φ(−0.5))
        // = (0.3520653 − 0.2419707) / (0.8413447 − 0.3085375) = 0.2066340.
        t.mean().item<float>().Should().BeApproximately(0.2066f, 0.01f);
    }
}
