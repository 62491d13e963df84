using FluentAssertions;
using SpatialNet.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace SpatialNet.Training.Tests.Training;

public class FlatAdamWTests
{
    [Fact]
    public void FlatAdamW_WithTwoGroupsAndChangingLearningRate_MatchesTorchSharpAdamWOver20Steps()
    {
        manual_seed(11);
        var reference = new TinyMlp(4, 8, 3);
        var flatModel = reference.CloneWeights(4, 8, 3);
        var (x, y) = SyntheticRegression.Make(64, 4, 3, seed: 5);

        // Reference: TorchSharp's per-parameter AdamW with the same two groups.
        var noDecay = reference.named_parameters().Where(p => p.parameter.dim() <= 1).Select(p => p.parameter).ToList();
        var decay = reference.named_parameters().Where(p => p.parameter.dim() > 1).Select(p => p.parameter).ToList();
        noDecay.Should().HaveCount(4, "fc1.bias, norm.weight, norm.bias, fc2.bias");
        decay.Should().HaveCount(2, "fc1.weight, fc2.weight");
        var refGroups = new[]
        {
            new TorchSharp.Modules.AdamW.ParamGroup(noDecay, new TorchSharp.Modules.AdamW.Options { LearningRate = 0.01, weight_decay = 0.0 }),
            new TorchSharp.Modules.AdamW.ParamGroup(decay, new TorchSharp.Modules.AdamW.Options { LearningRate = 0.02, weight_decay = 0.1 }),
        };
        using var refOpt = new TorchSharp.Modules.AdamW(refGroups, lr: 0.02, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1);

        var specs = new[] { new ParameterGroupSpec("no_decay", (_, p) => p.dim() <= 1, learningRate: 0.01, weightDecay: 0.0), new ParameterGroupSpec("decay") };
        using var buffers = new FlatParameterBuffers(flatModel, specs);
        using var flat = new FlatAdamW(buffers, new FlatAdamWOptions { LearningRate = 0.02, WeightDecay = 0.1, Beta1 = 0.9, Beta2 = 0.999, Eps = 1e-8 });
        buffers.Buckets.Should().HaveCount(2);

        var initial = flatModel.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var schedule = new WarmupCosineSchedule(totalSteps: 20, warmupSteps: 5, minLrRatio: 0.1);
        for (int step = 0; step < 20; step++)
        {
            using var scope = NewDisposeScope();
            double factor = schedule.Factor(step);
            refGroups[0].Options.LearningRate = 0.01 * factor;
            refGroups[1].Options.LearningRate = 0.02 * factor;
            flat.LearningRateFactor = factor;

            var batch = arange(step * 3 % 61, step * 3 % 61 + 3);
            refOpt.zero_grad();
            nn.functional.mse_loss(reference.call(x[batch]), y[batch]).backward();
            refOpt.step();

            flat.ZeroGrad();
            nn.functional.mse_loss(flatModel.call(x[batch]), y[batch]).backward();
            flat.Step();

            var refParams = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in flatModel.named_parameters())
                p.allclose(refParams[name], rtol: 1e-5, atol: 1e-6).Should().BeTrue($"parameter {name} after step {step + 1}");
        }
        foreach (var (name, p) in flatModel.named_parameters())
            p.allclose(initial[name]).Should().BeFalse($"{name} must have been trained");
        flat.StepCount.Should().Be(20);
    }

    [Fact]
    public void Parameters_AreViewsIntoFlatBuffers_AndBackwardAccumulatesIntoFlatGradients()
    {
        var model = nn.Linear(3, 2);
        using var buffers = new FlatParameterBuffers(model);
        var bucket = buffers.Buckets.Should().ContainSingle().Subject;
        bucket.NumElements.Should().Be(8);

        using (no_grad())
            bucket.Weights.fill_(0.5f);
        model.weight!.data<float>().ToArray().Should().AllBeEquivalentTo(0.5f);
        model.bias!.data<float>().ToArray().Should().AllBeEquivalentTo(0.5f);

        // d/dW sum(xW^T + b) with x = ones(4, 3): every weight gets 4, every bias 4; a second backward adds again.
        using var x = ones(4, 3);
        model.call(x).sum().backward();
        model.call(x).sum().backward();
        bucket.Gradients.data<float>().ToArray().Should().AllBeEquivalentTo(8f);
        buffers.ZeroGrad();
        model.weight.grad!.data<float>().ToArray().Should().AllBeEquivalentTo(0f);
    }

    [Fact]
    public void ClipGradientNorm_ScalesToMaxNorm_AsComputedByHand()
    {
        var model = nn.Linear(2, 2);
        var specs = new[] { new ParameterGroupSpec("bias", (n, _) => n == "bias"), new ParameterGroupSpec("rest") };
        using var buffers = new FlatParameterBuffers(model, specs);
        buffers.Buckets.Should().HaveCount(2);
        using (no_grad())
        {
            model.weight!.grad!.copy_(tensor(new float[] { 3, 0, 0, 4 }).reshape(2, 2));
            model.bias!.grad!.copy_(tensor(new float[] { 12, 0 }));
        }

        // ‖g‖ = √(3² + 4² + 12²) = √169 = 13. max 6.5 → factor 6.5 / (13 + 1e-6) ≈ 0.5 - 3.8e-8.
        using var norm = buffers.ClipGradientNorm(6.5);
        norm.item<float>().Should().BeApproximately(13f, 1e-5f);
        double factor = 6.5 / (13 + 1e-6);
        model.weight.grad!.data<float>().ToArray().Should().Equal(new[] { 3 * factor, 0, 0, 4 * factor }.Select(v => (float)v));
        model.bias.grad!.data<float>().ToArray().Should().Equal(new[] { (float)(12 * factor), 0f });

        // Below the limit nothing changes: the new norm is 6.5 (up to rounding) < 100.
        using var norm2 = buffers.ClipGradientNorm(100);
        norm2.item<float>().Should().BeApproximately(6.5f, 1e-5f);
        model.bias.grad!.data<float>()[0].Should().Be((float)(12 * factor));
    }

    [Fact]
    public void ParameterSelectedByNoGroup_IsRejectedWithItsName()
    {
        var model = nn.Linear(2, 1);
        var act = () => new FlatParameterBuffers(model, [new ParameterGroupSpec("only_bias", (n, _) => n == "bias")]);
        act.Should().Throw<ArgumentException>().WithMessage("*'weight'*only_bias*");
    }

    [Fact]
    public void ImportState_RestoresMomentsAndStep_AndRejectsAnotherLayout()
    {
        manual_seed(3);
        var a = new TinyMlp(3, 4, 1);
        var b = a.CloneWeights(3, 4, 1);
        using var ba = new FlatParameterBuffers(a, ParameterGroups.DecayAndNoDecay(a));
        using var oa = new FlatAdamW(ba);
        using var x = randn(5, 3);
        for (int i = 0; i < 3; i++)
        {
            oa.ZeroGrad();
            a.call(x).square().mean().backward();
            oa.Step();
        }
        using var bb = new FlatParameterBuffers(b, ParameterGroups.DecayAndNoDecay(b));
        using var ob = new FlatAdamW(bb);
        ob.ImportState(oa.ExportState());
        ob.StepCount.Should().Be(3);
        ob.ExpAvgSq(1).allclose(oa.ExpAvgSq(1), 0, 0).Should().BeTrue();

        var other = nn.Linear(3, 1);
        using var bo = new FlatParameterBuffers(other, ParameterGroups.DecayAndNoDecay(other));
        using var oo = new FlatAdamW(bo);
        oo.Invoking(o => o.ImportState(oa.ExportState())).Should().Throw<InvalidDataException>();
    }
}
