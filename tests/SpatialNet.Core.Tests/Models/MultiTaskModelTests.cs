using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Core.Tests.Heads;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Models;

public class MultiTaskModelTests
{
    [Fact]
    public void EveryHeadGetsItsPredictionsFromOneEncoderPass()
    {
        var encoder = new CountingEncoder(new VisionTransformer(TinyModels.EncoderOptions()));
        using var model = TinyModels.Create(encoder);
        using var images = randn(3, 3, 16, 16);

        var predictions = model.Forward(images);

        encoder.Calls.Should().Be(1);
        predictions.Keys.Should().Equal("land_use", "building_count", "objects");
        predictions["land_use"].shape.Should().Equal(3, 4);
        predictions["building_count"].shape.Should().Equal(3);
        predictions["objects"].shape.Should().Equal(3, 3);
    }

    [Fact]
    public void ASubsetOfTasksRunsOnlyThoseHeads()
    {
        using var model = TinyModels.Create();
        using var images = randn(2, 3, 16, 16);

        var predictions = model.Forward(images, tasks: ["objects"]);

        predictions.Keys.Should().Equal("objects");
    }

    [Fact]
    public void AnUnknownTaskIsReportedWithTheModelsTasks()
    {
        using var model = TinyModels.Create();
        using var images = randn(1, 3, 16, 16);

        var act = () => model.Forward(images, tasks: ["caption"]);

        act.Should().Throw<KeyNotFoundException>()
            .WithMessage("The model has no task 'caption'; its tasks: land_use, building_count, objects.");
    }

    [Fact]
    public void NamedInputsReachTheHeadsThatAskForThem()
    {
        var encoder = new VisionTransformer(TinyModels.EncoderOptions());
        var layout = TokenLayout.Of(encoder);
        using var model = new MultiTaskModel(encoder,
        [
            new ClassificationHead("land_use", layout, new ClassificationHeadOptions { NumClasses = 2 }),
            new SequenceTestHead("caption", layout, vocabulary: 9),
        ]);
        using var images = randn(2, 3, 16, 16);
        using var question = randint(0, 9, [2, 5]);

        var predictions = model.Forward(images, new Dictionary<string, Tensor> { [SequenceTestHead.QuestionInput] = question });

        predictions["caption"].shape.Should().Equal(2, 5, 9);
        predictions["land_use"].shape.Should().Equal(2, 2);
    }

    [Fact]
    public void StateDictNamesAreEncoderThenHeadsByTask()
    {
        using var model = TinyModels.Create();

        var names = model.state_dict().Keys.ToArray();

        names.Should().Contain(["encoder.cls_token", "encoder.pos_embed", "encoder.patch_embed.proj.weight", "encoder.blocks.1.attn.qkv.weight"]);
        names.Should().Contain(["heads.land_use.fc.weight", "heads.building_count.fc.bias", "heads.objects.pool.latent"]);
        names.Where(n => !n.StartsWith("encoder.", StringComparison.Ordinal) && !n.StartsWith("heads.", StringComparison.Ordinal)).Should().BeEmpty();
    }

    [Fact]
    public void TheModelCanBeCastToBFloat16_KeepingItsStateDictNames()
    {
        // TorchSharp 0.107's Module.to fails on modules with two indexers (its ModuleDict), so this pins
        // that the whole model — encoder and every head — moves and casts (mixed precision needs it).
        using var model = TinyModels.Create();
        var names = model.state_dict().Keys.ToArray();

        model.to(ScalarType.BFloat16);

        model.state_dict().Keys.Should().Equal(names);
        model.parameters().Should().OnlyContain(p => p.dtype == ScalarType.BFloat16);
        using var images = randn(2, 3, 16, 16).to(ScalarType.BFloat16);
        var predictions = model.Forward(images);
        predictions["land_use"].dtype.Should().Be(ScalarType.BFloat16);
        model.Head("objects").parameters().Should().OnlyContain(p => p.dtype == ScalarType.BFloat16);
    }

    [Fact]
    public void LossesAreComputedOnlyForTasksWithTargets()
    {
        using var model = TinyModels.Create();
        var (images, targets) = TinyModels.Batch();
        targets.Remove("objects");

        var losses = model.Losses(model.Forward(images), targets);

        losses.Keys.Should().BeEquivalentTo("land_use", "building_count");
        losses.Values.Should().AllSatisfy(l => l.dim().Should().Be(0));
    }

    [Fact]
    public void GradientsReachEveryTrainableParameterOfModelHeadsAndUncertaintyWeights()
    {
        using var model = TinyModels.Create();
        var tasks = new TaskCatalog(model.TaskNames.Select(t => new TaskDefinition(t, model.Head(t).Kind)));
        using var composer = new UncertaintyWeighting(tasks);
        var (images, targets) = TinyModels.Batch();

        var loss = composer.Compose(model.Losses(model.Forward(images), targets), LossContext.None);
        new L2Regularization().ApplyTo(loss, model);
        loss.Backward();

        var all = model.named_parameters().Concat(composer.named_parameters().Select(p => ("composer." + p.name, p.parameter))).ToArray();
        all.Should().NotBeEmpty();
        foreach (var (name, parameter) in all)
        {
            parameter.grad.Should().NotBeNull($"{name} should receive a gradient");
            parameter.grad!.abs().sum().item<float>().Should().BeGreaterThan(0, $"{name} should receive a non-zero gradient");
        }
    }

    [Fact]
    public void HeadsBuiltForAnotherTokenWidthAreRejected()
    {
        var encoder = new VisionTransformer(TinyModels.EncoderOptions());
        var head = new ClassificationHead("a", new TokenLayout(32, 1), new ClassificationHeadOptions { NumClasses = 2 });

        var act = () => new MultiTaskModel(encoder, [head]);

        act.Should().Throw<ArgumentException>()
            .WithMessage("Head of task 'a' was built for tokens with D = 32 and 1 prefix tokens, but the encoder produces D = 16 with 1.*");
    }

    [Fact]
    public void DuplicateTaskNamesAreRejected()
    {
        var encoder = new VisionTransformer(TinyModels.EncoderOptions());
        var layout = TokenLayout.Of(encoder);

        var act = () => new MultiTaskModel(encoder,
        [
            new RegressionHead("a", layout, new RegressionHeadOptions()),
            new RegressionHead("a", layout, new RegressionHeadOptions()),
        ]);

        act.Should().Throw<ArgumentException>().WithMessage("Task name 'a' is used by more than one head; task names must be unique.*");
    }

    [Fact]
    public void PredictAppliesEachHeadsInferenceTransform()
    {
        using var model = TinyModels.Create();
        using var images = randn(2, 3, 16, 16);
        model.eval();

        var outputs = model.Predict(model.Forward(images));

        using var sums = outputs["land_use"].sum(1);
        sums.allclose(ones(2)).Should().BeTrue();
        outputs["objects"].min().item<float>().Should().BeGreaterThanOrEqualTo(0);
    }
}
