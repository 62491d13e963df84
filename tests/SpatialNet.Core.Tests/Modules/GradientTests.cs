using FluentAssertions;
using SpatialNet.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Modules;

public class GradientTests
{
    [Theory]
    [MemberData(nameof(VisionTransformerTests.Configurations), MemberType = typeof(VisionTransformerTests))]
    public void EveryTrainableParameterReceivesAGradient(string name, int bands, int h, int w, int tokens)
    {
        _ = tokens;
        torch.manual_seed(3);
        using var vit = new VisionTransformer(VisionTransformerTests.ConfigurationOptions(name));
        vit.train();
        using var x = randn(3, bands, h, w);
        using var y = vit.forward(x);
        using var weights = randn(y.shape);
        using var loss = (y * weights).sum();
        loss.backward();

        foreach (var (param, p) in vit.named_parameters())
        {
            p.requires_grad.Should().BeTrue(param);
            p.grad.Should().NotBeNull(param);
            p.grad!.abs().max().item<float>().Should().BeGreaterThan(0f, param);
        }
    }
}
