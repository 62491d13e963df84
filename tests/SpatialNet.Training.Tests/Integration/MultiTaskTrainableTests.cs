using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Tests.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Integration;

[Collection(TorchGlobalRngCollection.Name)]
public sealed class MultiTaskTrainableTests
{
    /// <summary>A 16×16 ViT with a 3-class task and a count task; 16 features per image.</summary>
    internal static MultiTaskModel TinyModel(long seed)
    {
        manual_seed(seed);
        var encoder = new VisionTransformer(new VisionTransformerOptions { ImageSize = 16, PatchSize = 8, EmbedDim = 16, Depth = 1, NumHeads = 2 });
        var layout = TokenLayout.Of(encoder);
        return new MultiTaskModel(encoder,
        [
            new ClassificationHead("cls", layout, new ClassificationHeadOptions { NumClasses = 3 }),
            new RegressionHead("count", layout, new RegressionHeadOptions { Pooling = PoolingKind.Mean, TargetMean = 2, TargetStd = 1 }),
        ]);
    }

    /// <summary>Images whose colour encodes the class (0, 1, 2: the bright band) and whose count is the class + 1.</summary>
    internal static Dictionary<string, Tensor> LearnableData(int n)
    {
        manual_seed(123);
        var cls = arange(n).remainder(3);
        var image = randn(n, 3, 16, 16) * 0.1 + nn.functional.one_hot(cls, 3).to(ScalarType.Float32).view(n, 3, 1, 1);
        return new Dictionary<string, Tensor> { ["image"] = image, ["cls"] = cls, ["count"] = (cls + 1).to(ScalarType.Float32) };
    }

    [Fact]
    public void Adapter_TrainsATinyMultiTaskModel_AndTheLossFalls()
    {
        var model = TinyModel(1);
        var trainable = new MultiTaskTrainable(model, new WeightedSum(), new L2Regularization(1e-4));
        var source = new InMemoryBatchSource(LearnableData(48), batchSize: 12, seed: 2);
        using var trainer = new Trainer(trainable, source, new TrainerOptions
        {
            Epochs = 25, LearningRate = 5e-3, Seed = 3, ShowProgress = false, LossSyncInterval = 4, WeightDecay = 0,
        });

        trainer.Fit();

        var epochs = trainer.History.Epochs;
        epochs[^1].Train["loss"].Should().BeLessThan(0.3 * epochs[0].Train["loss"]);
        var step = trainer.History.Steps[0].Losses;
        step.Keys.Should().Contain(["cls/loss", "cls/weight", "count/loss", "count/weight", MultiTaskTrainable.L2TermName]);
        step["cls/weight"].Should().Be(1);
        // Total = 1·L_cls + 1·L_count + l2 (Eq. 6 plus Eq. 10–11).
        step["loss"].Should().BeApproximately(step["cls/loss"] + step["count/loss"] + step[MultiTaskTrainable.L2TermName], 1e-5);
    }

    [Fact]
    public void TasksAbsentFromABatch_AreNotRunAndAddNothingToTheLoss()
    {
        var model = TinyModel(4);
        var trainable = new MultiTaskTrainable(model, new WeightedSum(new Dictionary<string, double> { ["cls"] = 0.5, ["count"] = 2 }));
        var data = LearnableData(6);
        var batch = new Dictionary<string, Tensor> { ["image"] = data["image"], ["cls"] = data["cls"] };   // no "count"

        using var scope = NewDisposeScope();
        var losses = trainable.ComputeLosses(batch);

        losses.Terms.Keys.Should().BeEquivalentTo(["cls/loss", "cls/weight"]);
        // Independent value: cross-entropy of the classification head's logits, weighted 0.5.
        var logits = model.Head("cls").call(((IImageEncoder)model.Encoder).ForwardTokens(data["image"]));
        var expected = 0.5 * nn.functional.cross_entropy(logits, data["cls"]).item<float>();
        losses.Total.item<float>().Should().BeApproximately((float)expected, 1e-5f);
        trainable.TasksIn(batch).Should().Equal("cls");
    }

    [Fact]
    public void ABatchWithNoTaskTargets_IsRejectedWithTheEntriesItHas()
    {
        var trainable = new MultiTaskTrainable(TinyModel(5), new WeightedSum());
        using var scope = NewDisposeScope();
        var act = () => trainable.ComputeLosses(new Dictionary<string, Tensor> { ["image"] = zeros(2, 3, 16, 16), ["label"] = zeros(2, ScalarType.Int64) });
        act.Should().Throw<InvalidOperationException>().WithMessage("*cls, count*image, label*");
    }

    [Fact]
    public void UncertaintyWeights_AreTrainedWithTheModel_AndPcGradRunsItsOwnBackward()
    {
        var model = TinyModel(6);
        var uw = new UncertaintyWeighting(new TaskCatalog(new TaskDefinition("cls", TaskKind.Classification), new TaskDefinition("count", TaskKind.Regression)));
        var trainable = new MultiTaskTrainable(model, uw);
        trainable.Module.named_parameters().Select(p => p.name).Should().Contain("loss_composer.log_vars").And.Contain(n => n.StartsWith("model.encoder."));
        using (var trainer = new Trainer(trainable, new InMemoryBatchSource(LearnableData(12), 6, seed: 1),
            new TrainerOptions { Epochs = 1, LearningRate = 1e-2, ShowProgress = false, Seed = 1 }))
        {
            trainer.Fit();
        }
        uw.LogVariances.abs().sum().item<float>().Should().BeGreaterThan(0, "log-variances start at 0 and are optimised");

        // PCGrad projects task gradients inside ComposedLoss.Backward; the trainer must call it (not Total.backward()).
        var pc = new MultiTaskTrainable(TinyModel(7), new PCGrad(seed: 1));
        using var scope = NewDisposeScope();
        var data = LearnableData(6);
        var losses = pc.ComputeLosses(data);
        foreach (var p in pc.Module.parameters()) p.grad?.zero_();
        losses.Backward();
        var withProjection = pc.Model.SharedParameters().Select(p => p.grad!.clone()).ToArray();
        foreach (var p in pc.Module.parameters()) p.grad?.zero_();
        pc.ComputeLosses(data).Total.backward();
        var plain = pc.Model.SharedParameters().Select(p => p.grad!).ToArray();
        // When the two task gradients conflict the projection changes the shared gradient; otherwise it is identical.
        var difference = withProjection.Zip(plain, (a, b) => (a - b).abs().sum().item<float>()).Sum();
        var conflict = Conflict(pc, data);
        // (Without a conflict only float rounding differs: the task gradients are summed after their own passes.)
        if (conflict)
            difference.Should().BeGreaterThan(1e-3f);
        else
            difference.Should().BeLessThan(1e-4f);
    }

    private static bool Conflict(MultiTaskTrainable t, Dictionary<string, Tensor> data)
    {
        var shared = t.Model.SharedParameters().Cast<Tensor>().ToList();
        var predictions = t.Model.Forward(data["image"], data, ["cls", "count"]);
        var losses = t.Model.Losses(predictions, new Dictionary<string, Tensor> { ["cls"] = data["cls"], ["count"] = data["count"] });
        var g1 = cat(autograd.grad([losses["cls"]], shared, retain_graph: true, allow_unused: true).Select(g => g.reshape(-1)).ToArray(), 0);
        var g2 = cat(autograd.grad([losses["count"]], shared, allow_unused: true).Select(g => g.reshape(-1)).ToArray(), 0);
        return g1.dot(g2).item<float>() < 0;
    }

    [Fact]
    public void Trainer_CallsTheBackwardActionOfTheLosses()
    {
        manual_seed(1);
        var lin = nn.Linear(2, 1);
        int calls = 0;
        var trainable = new DelegateTrainable(lin, b =>
        {
            var loss = lin.call(b["x"]).square().mean();
            return new TrainingLosses(loss, backward: () => { calls++; loss.backward(); });
        });
        using var trainer = new Trainer(trainable, new InMemoryBatchSource(new Dictionary<string, Tensor> { ["x"] = ones(4, 2) }, 2),
            new TrainerOptions { Epochs = 1, ShowProgress = false });
        trainer.Fit();
        calls.Should().Be(2);
    }
}
