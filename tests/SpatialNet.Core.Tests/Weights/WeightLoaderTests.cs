using FluentAssertions;
using SpatialNet.Modules;
using SpatialNet.Weights;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Weights;

public class WeightLoaderTests
{
    /// <summary>One block instead of two (blocks.1.* unexpected), 5 classes instead of 10 (head mismatched),
    /// LayerScale on (ls gammas missing).</summary>
    private static VisionTransformerOptions Mismatched()
    {
        var o = TimmFixture.Options();
        o.Depth = 1; o.NumClasses = 5; o.LayerScaleInit = 0.5;
        return o;
    }

    [Fact]
    public void NonStrictLoadReportsMissingUnexpectedAndMismatchedKeys()
    {
        using var checkpoint = StateDictFile.Read(TimmFixture.Safetensors);
        using var model = new VisionTransformer(Mismatched());
        using var headBefore = model.state_dict()["head.weight"].clone();

        var report = ModelWeights.Load(model, checkpoint, new WeightLoadOptions { Strict = false });

        report.IsExactMatch.Should().BeFalse();
        report.Missing.Should().BeEquivalentTo("blocks.0.ls1.gamma", "blocks.0.ls2.gamma");
        report.Unexpected.Should().HaveCount(12).And.OnlyContain(k => k.StartsWith("blocks.1."));
        report.ShapeMismatches.Select(m => m.Key).Should().BeEquivalentTo("head.weight", "head.bias");
        report.ShapeMismatches.Single(m => m.Key == "head.weight").Expected.Should().Equal(5, 64);
        report.ShapeMismatches.Single(m => m.Key == "head.weight").Actual.Should().Equal(10, 64);
        report.Loaded.Should().Contain(["cls_token", "pos_embed", "blocks.0.attn.qkv.weight", "norm.weight"]);
        var sd = model.state_dict();
        sd["blocks.0.attn.qkv.weight"].allclose(checkpoint["blocks.0.attn.qkv.weight"], rtol: 0, atol: 0).Should().BeTrue();
        sd["head.weight"].allclose(headBefore, rtol: 0, atol: 0).Should().BeTrue();
        sd["blocks.0.ls1.gamma"].allclose(full(64, 0.5f)).Should().BeTrue();
    }

    [Fact]
    public void StrictLoadThrowsListingEveryProblemAndLeavesTheModelUnchanged()
    {
        using var model = new VisionTransformer(Mismatched());
        using var before = model.state_dict()["blocks.0.attn.qkv.weight"].clone();

        var act = () => ModelWeights.Load(model, TimmFixture.Safetensors);

        var ex = act.Should().Throw<WeightLoadException>().Which;
        ex.Message.Should().Contain("vit_tiny.safetensors").And.Contain("missing: blocks.0.ls1.gamma")
            .And.Contain("unexpected: blocks.1.attn.qkv.weight").And.Contain("shape mismatch: head.weight: model [5, 64], checkpoint [10, 64]");
        ex.Report.Missing.Should().HaveCount(2);
        model.state_dict()["blocks.0.attn.qkv.weight"].allclose(before, rtol: 0, atol: 0).Should().BeTrue();
    }

    [Fact]
    public void LoadIntoAnEncoderSubmoduleOfALargerModel()
    {
        using var model = new VisionTransformer(TimmFixture.Options());
        using var wrapper = new Wrapper(model);

        var report = ModelWeights.Load(wrapper, TimmFixture.Safetensors, new WeightLoadOptions { Strict = false });

        report.Missing.Should().Contain("encoder.pos_embed");    // names are the wrapper's
        report.Unexpected.Should().Contain("pos_embed");
        ModelWeights.Load(model, TimmFixture.Safetensors).IsExactMatch.Should().BeTrue();
    }

    [Fact]
    public void CheckpointDtypeIsConvertedToTheModels()
    {
        using var checkpoint = StateDictFile.Read(TimmFixture.Safetensors);
        using var wide = new StateDict(checkpoint.Select(kv => KeyValuePair.Create(kv.Key, kv.Value.to_type(ScalarType.Float64))));
        using var model = new VisionTransformer(TimmFixture.Options());

        ModelWeights.Load(model, wide);

        model.state_dict()["pos_embed"].dtype.Should().Be(ScalarType.Float32);
        model.state_dict()["pos_embed"].allclose(checkpoint["pos_embed"], rtol: 0, atol: 0).Should().BeTrue();
    }

    [Fact]
    public void MissingOrForeignFilesGiveClearErrors()
    {
        using var model = new VisionTransformer(TimmFixture.Options());
        var missing = Path.Combine(Path.GetTempPath(), "spatialnet-no-such-file.safetensors");
        var garbage = Path.GetTempFileName();
        File.WriteAllText(garbage, "not a checkpoint");
        try
        {
            model.Invoking(m => ModelWeights.Load(m, missing)).Should().Throw<WeightFileException>().WithMessage("*spatialnet-no-such-file*");
            model.Invoking(m => ModelWeights.Load(m, garbage)).Should().Throw<WeightFileException>().WithMessage("*neither safetensors nor*");
        }
        finally { File.Delete(garbage); }
    }

    private sealed class Wrapper : nn.Module<Tensor, Tensor>
    {
        private readonly VisionTransformer encoder;
        public Wrapper(VisionTransformer encoder) : base(nameof(Wrapper)) { this.encoder = encoder; RegisterComponents(); }
        public override Tensor forward(Tensor x) => encoder.call(x);
    }
}
