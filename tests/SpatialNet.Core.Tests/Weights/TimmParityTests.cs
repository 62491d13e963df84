using FluentAssertions;
using SpatialNet.Modules;
using SpatialNet.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Weights;

/// <summary>
/// timm parity: the fixture's weights, loaded strictly from either file format into our encoder,
/// reproduce the logits y and tokens feat that timm itself computed for x.
/// </summary>
public class TimmParityTests
{
    public static TheoryData<string> WeightFiles => new() { "vit_tiny.safetensors", "vit_tiny.pth" };

    [Theory]
    [MemberData(nameof(WeightFiles))]
    public void StrictLoadReproducesTimmLogitsAndTokens(string file)
    {
        using var io = TimmFixture.ReadIo();
        using var model = new VisionTransformer(TimmFixture.Options());
        var report = ModelWeights.Load(model, Path.Combine(TimmFixture.Dir, file));
        model.eval();

        report.IsExactMatch.Should().BeTrue(report.ToString());
        report.Adapted.Should().BeEmpty();
        using var noGrad = no_grad();
        using var feat = model.ForwardFeatures(io["x"]);
        using var y = model.forward(io["x"]);

        feat.shape.Should().Equal(io["feat"].shape);
        y.shape.Should().Equal(io["y"].shape);
        MaxAbsDiff(feat, io["feat"]).Should().BeLessThan(1e-5);
        MaxAbsDiff(y, io["y"]).Should().BeLessThan(1e-5);
    }

    [Theory]
    [MemberData(nameof(WeightFiles))]
    public void LoadingKeepsParametersTrainable(string file)
    {
        using var model = new VisionTransformer(TimmFixture.Options());
        ModelWeights.Load(model, Path.Combine(TimmFixture.Dir, file));

        model.parameters().Should().OnlyContain(p => p.requires_grad);
    }

    [Fact]
    public void BothFilesHoldTheSameTimmKeys()
    {
        using var st = StateDictFile.Read(TimmFixture.Safetensors);
        using var pth = StateDictFile.Read(TimmFixture.PyTorch);
        using var model = new VisionTransformer(TimmFixture.Options());

        st.Keys.Should().BeEquivalentTo(pth.Keys);
        st.Keys.Should().BeEquivalentTo(model.state_dict().Keys);
        foreach (var key in st.Keys)
            st[key].allclose(pth[key], rtol: 0, atol: 0).Should().BeTrue(key);
    }

    internal static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.item<float>();
    }
}
