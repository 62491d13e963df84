using SpatialNet.Training.Batching;
using FluentAssertions;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Heads;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Tests.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Integration;

/// <summary>The trainer's side of the strategies: FAMO's update after the step, gradient strategies' reported weights.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class LossStrategyTrainingTests
{
    // The tiny model and learnable batch of the trainable's own tests.
    private static MultiTaskModel TinyModel(long seed) => MultiTaskTrainableTests.TinyModel(seed);

    private static Dictionary<string, Tensor> Data(int n) => MultiTaskTrainableTests.LearnableData(n);

    [Fact]
    public void Famo_OnStepEnd_UpdatesTheLogitsFromTheLossesTheUpdatedModelGivesOnTheSameBatch()
    {
        var model = TinyModel(2);
        var famo = new Famo();
        var trainable = new MultiTaskTrainable(model, famo);
        var batch = Data(6);
        using var scope = NewDisposeScope();
        using var sgd = optim.SGD(model.parameters(), 0.1);

        var losses = trainable.ComputeLosses(batch);
        double before0 = losses.Terms["cls/loss"].item<float>(), before1 = losses.Terms["count/loss"].item<float>();
        losses.Backward();
        sgd.step();
        double after0, after1;
        using (no_grad())
        {
            var tokens = ((IImageEncoder)model.Encoder).ForwardTokens(batch["image"]);
            after0 = nn.functional.cross_entropy(model.Head("cls").call(tokens), batch["cls"]).item<float>();
            after1 = model.Losses(new Dictionary<string, Tensor> { ["count"] = model.Head("count").call(tokens) },
                new Dictionary<string, Tensor> { ["count"] = batch["count"] }, batch)["count"].item<float>();
        }

        trainable.OnStepEnd(batch);

        // The same update computed on the host from independently recomputed losses.
        var reference = new Famo();
        reference.Update(["cls", "count"], [0.5, 0.5], [before0, before1], [after0, after1]);
        famo.Logit("cls").Should().BeApproximately(reference.Logit("cls"), 1e-6);
        famo.Logit("count").Should().BeApproximately(reference.Logit("count"), 1e-6);
        famo.Logit("cls").Should().NotBe(0);
    }

    [Fact]
    public void Trainer_CallsTheStepEndHook_AndRecordsTheWeightsAGradientStrategyApplied()
    {
        var famo = new Famo();
        using (var trainer = new Trainer(new MultiTaskTrainable(TinyModel(3), famo), new InMemoryBatchSource(Data(12), batchSize: 6, seed: 1),
            new TrainerOptions { Epochs = 1, LearningRate = 1e-3, Seed = 1, ShowProgress = false, LossSyncInterval = 1 }))
        {
            trainer.Fit();
        }

        famo.Logit("cls").Should().NotBe(0, "the trainer ran FAMO's update after each step");

        var mgda = new GradientComposer("mgda", new MgdaAggregator());
        using var second = new Trainer(new MultiTaskTrainable(TinyModel(3), mgda), new InMemoryBatchSource(Data(12), batchSize: 6, seed: 1),
            new TrainerOptions { Epochs = 1, LearningRate = 1e-3, Seed = 1, ShowProgress = false, LossSyncInterval = 1 });
        second.Fit();

        // MGDA's weights lie on the simplex: the history carries the applied weights, not the initial λ = 1.
        foreach (var step in second.History.Steps)
        {
            double w0 = step.Losses["cls/weight"], w1 = step.Losses["count/weight"];
            (w0 + w1).Should().BeApproximately(1, 1e-5);
            w0.Should().BeInRange(0, 1);
        }
    }

    private static ILossComposer Composer(string name) => name switch
    {
        "gradvac" => new GradientComposer(name, new GradVacAggregator(beta: 0.3, seed: 2)),
        "nash_mtl" => new GradientComposer(name, new NashMtlAggregator(updateWeightsEvery: 2)),
        "famo" => new Famo(lr: 0.1),
        "excess_mtl" => new GradientComposer(name, new ExcessMtlAggregator(robustStepSize: 0.5, nWarmupSteps: 2)),
        "moco" => new GradientComposer(name, new MocoAggregator()),
        "db_mtl" => new GradientComposer(name, new DbMtlAggregator()),
        _ => new SmoothTchebycheff(mu: 0.5, warmupEpochs: 1),
    };

    [Theory]
    [InlineData("gradvac")]
    [InlineData("nash_mtl")]
    [InlineData("famo")]
    [InlineData("stch")]
    [InlineData("excess_mtl")]
    [InlineData("moco")]
    [InlineData("db_mtl")]
    public void StatefulStrategy_ResumedFromACheckpoint_EqualsTheUninterruptedRun_BitForBit(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "spatialnet-mtl-resume-" + Guid.NewGuid().ToString("N"));
        try
        {
            TrainerOptions Options(long? maxSteps = null) => new()
            {
                Epochs = 3, LearningRate = 5e-3, Seed = 3, ShowProgress = false, LossSyncInterval = 1, GradientClipNorm = null,
                Precision = SpatialNet.Training.Optimization.PrecisionMode.Float32, MaxSteps = maxSteps, CheckpointDirectory = maxSteps is null ? null : dir,
            };
            IBatchSource Source() => new InMemoryBatchSource(Data(12), batchSize: 4, shuffle: true, seed: 5);

            var straight = TinyModel(7);
            using (var a = new Trainer(new MultiTaskTrainable(straight, Composer(name)), Source(), Options()))
                a.Fit();

            // Interrupted after 5 of 9 steps (inside the second epoch), then resumed by a fresh composer.
            using (var b = new Trainer(new MultiTaskTrainable(TinyModel(7), Composer(name)), Source(), Options(maxSteps: 5)))
                b.Fit();
            var resumed = TinyModel(7);
            using (var c = new Trainer(new MultiTaskTrainable(resumed, Composer(name)), Source(), Options()))
            {
                c.ResumeFrom(Path.Combine(dir, Trainer.LastCheckpointName));
                c.Fit();
            }

            var expected = straight.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
            foreach (var (parameter, p) in resumed.named_parameters())
                p.data<float>().ToArray().Should().Equal(expected[parameter], $"{name}: parameter {parameter}");
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RepresentationMode_TrainsThroughTheTrainer_WithTheEncodersOutputAsRepresentation()
    {
        // The trainable passes the encoder's tokens; one step in representation mode equals, for the heads, the plain
        // weighted-sum gradients (each head gets its own task's gradient), and the encoder moves.
        var model = TinyModel(4);
        var trainable = new MultiTaskTrainable(model, new GradientComposer("upgrad", new UPGradAggregator(), representation: true));
        var batch = Data(6);
        using var scope = NewDisposeScope();

        var losses = trainable.ComputeLosses(batch);
        losses.Backward();

        var reference = TinyModel(4);
        var plain = new MultiTaskTrainable(reference, new WeightedSum()).ComputeLosses(batch);
        plain.Backward();
        var expected = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad);
        foreach (var (name, p) in model.named_parameters().Where(p => p.name.StartsWith("heads.", StringComparison.Ordinal)))
            p.grad!.data<float>().ToArray().Should().Equal(expected[name]!.data<float>().ToArray(), (a, b) => Math.Abs(a - b) <= 1e-6f, name);
        double encoderGradient = model.named_parameters().Where(p => !p.name.StartsWith("heads.", StringComparison.Ordinal) && p.parameter.grad is not null)
            .Sum(p => (double)p.parameter.grad!.abs().sum().item<float>());
        encoderGradient.Should().BePositive("the encoder gets the update");
        losses.Terms["cls/weight"].item<float>().Should().BePositive();
    }
}
