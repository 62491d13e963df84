using SpatialNet.Training.Evaluation;
using FluentAssertions;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Optimization;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace SpatialNet.Training.Tests.Training;

[Collection(TorchGlobalRngCollection.Name)]
public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spatialnet-trainer-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Fit_OnLearnableRegression_LowersTrainAndValidationLoss()
    {
        var f = new TrainerFixture(initSeed: 1);
        var options = TrainerFixture.Options();
        options.Epochs = 10;
        options.LearningRate = 0.03;
        using var trainer = new Trainer(f.Trainable, f.Source, options, f.Evaluator);
        var result = trainer.Fit();

        result.StopReason.Should().Be(StopReason.Completed);
        result.GlobalStep.Should().Be(10 * 6);
        var epochs = trainer.History.Epochs;
        epochs.Should().HaveCount(10);
        string curve = string.Join(", ", epochs.Select(e => e.Train["loss"].ToString("F3", System.Globalization.CultureInfo.InvariantCulture)));
        epochs[^1].Train["loss"].Should().BeLessThan(0.1 * epochs[0].Train["loss"], curve);
        epochs[^1].Metrics["val_mse"].Should().BeLessThan(0.2 * epochs[0].Metrics["val_mse"]);
        trainer.History.Steps.Should().HaveCount(60);
        trainer.History.Steps.Should().OnlyContain(s => s.Losses.ContainsKey("mse") && s.Losses.ContainsKey("mae") && s.GradientNorm > 0);
        var s0 = trainer.History.Steps[0];
        s0.Losses["loss"].Should().BeApproximately(s0.Losses["mse"] + 0.1 * s0.Losses["mae"], 1e-5);
    }

    [Fact]
    public void DefaultPrecision_IsAuto_AndResolvesToFloat32ForACpuModel()
    {
        new TrainerOptions().Precision.Should().Be(PrecisionMode.Auto);
        var f = new TrainerFixture(initSeed: 1);
        var options = TrainerFixture.Options();
        options.Precision = new TrainerOptions().Precision;
        using var trainer = new Trainer(f.Trainable, f.Source, options);
        trainer.Precision.Should().Be(PrecisionMode.Float32);
        trainer.Optimizer.Parameters.Precision.Should().Be(PrecisionMode.Float32);
        f.Model.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float32);
        trainer.TrainStep(new Dictionary<string, Tensor> { ["x"] = f.X.narrow(0, 0, 8), ["y"] = f.Y.narrow(0, 0, 8) });
        f.Model.parameters().Should().OnlyContain(p => p.dtype == ScalarType.Float32);
    }

    [Fact]
    public void Disposing_a_mixed_precision_trainer_leaves_the_model_in_float32_with_the_master_weights()
    {
        var f = new TrainerFixture(initSeed: 2);
        var options = TrainerFixture.Options(PrecisionMode.BFloat16Mixed);
        options.MonitorMetric = null;
        options.CheckpointDirectory = Path.Combine(_dir, "ck");
        Dictionary<string, Tensor> masters;
        string checkpoint;
        using (var trainer = new Trainer(f.Trainable, f.Source, options))
        {
            checkpoint = trainer.Fit().LastCheckpoint!;
            f.Model.parameters().Should().OnlyContain(p => p.dtype == ScalarType.BFloat16);
            masters = trainer.Optimizer.Parameters.MasterWeights().ToDictionary(kv => kv.Key, kv => kv.Value.clone().DetachFromDisposeScope());
        }

        // After dispose: float32 parameters holding exactly the float32 masters (not their bf16 rounding).
        int finer = 0;
        foreach (var (name, p) in f.Model.named_parameters())
        {
            p.dtype.Should().Be(ScalarType.Float32, name);
            p.eq(masters[name]).all().item<bool>().Should().BeTrue(name);
            if (!p.to(ScalarType.BFloat16).to(ScalarType.Float32).eq(p).all().item<bool>())
                finer++;
        }
        finer.Should().BeGreaterThan(0);
        // The checkpoint's full-precision read gives the same masters.
        var read = Checkpoints.TrainingCheckpoint.ReadModelWeights(checkpoint);
        foreach (var (name, master) in masters)
            read[name].eq(master).all().item<bool>().Should().BeTrue(name);
        // The model still trains and predicts in float32.
        f.Model.call(f.X.narrow(0, 0, 4)).dtype.Should().Be(ScalarType.Float32);
    }

    [Fact]
    public void Restoring_keeps_weights_loaded_after_training_and_a_second_trainers_result()
    {
        // 1) Weights loaded in place between Fit and Dispose survive the restore.
        var f = new TrainerFixture(initSeed: 3);
        var options = TrainerFixture.Options(PrecisionMode.BFloat16Mixed);
        options.MonitorMetric = null;
        var loaded = f.Model.named_parameters().ToDictionary(p => p.name, p => full_like(p.parameter, 0.375f, dtype: ScalarType.Float32).DetachFromDisposeScope());
        using (var trainer = new Trainer(f.Trainable, f.Source, options))
        {
            trainer.Fit();
            using (no_grad())
            {
                foreach (var (name, p) in f.Model.named_parameters())
                    p.copy_(loaded[name]);   // 0.375 is exact in bfloat16
            }
        }
        foreach (var (name, p) in f.Model.named_parameters())
        {
            p.dtype.Should().Be(ScalarType.Float32);
            p.eq(0.375f).all().item<bool>().Should().BeTrue(name);
        }

        // 2) Two trainers in turn on one model: disposing the first after the second does not bring back the first's weights.
        var g = new TrainerFixture(initSeed: 4);
        var first = new Trainer(g.Trainable, g.Source, options);
        first.Fit();
        Dictionary<string, Tensor> second;
        var options2 = TrainerFixture.Options(PrecisionMode.BFloat16Mixed);
        options2.MonitorMetric = null;
        using (var trainer2 = new Trainer(g.Trainable, g.Source, options2))
        {
            trainer2.Fit();
            second = trainer2.Optimizer.Parameters.MasterWeights().ToDictionary(kv => kv.Key, kv => kv.Value.clone().DetachFromDisposeScope());
        }
        first.Dispose();
        foreach (var (name, p) in g.Model.named_parameters())
            p.eq(second[name]).all().item<bool>().Should().BeTrue(name);
    }

    [Fact]
    public void A_bfloat16_loss_under_mixed_precision_is_reported_once_as_a_warning()
    {
        var f = new TrainerFixture(initSeed: 1);
        // A trainable that forgets to compute its loss in float32.
        var careless = new DelegateTrainable(f.Model, b => new TrainingLosses(nn.functional.mse_loss(f.Model.call(b["x"]), b["y"].to(ScalarType.BFloat16)),
            new Dictionary<string, Tensor>()));
        var logger = new ListLogger();
        var options = TrainerFixture.Options(PrecisionMode.BFloat16Mixed);
        options.MonitorMetric = null;
        using var trainer = new Trainer(careless, f.Source, options, logger: logger);
        trainer.Fit();
        logger.Warnings.Where(w => w.Contains("BFloat16", StringComparison.Ordinal) && w.Contains("KeepFloat32Inputs", StringComparison.Ordinal))
            .Should().ContainSingle();
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (logLevel == Microsoft.Extensions.Logging.LogLevel.Warning)
                Warnings.Add(formatter(state, exception));
        }
    }

    [Fact]
    public void Cancellation_WritesAnInterruptedCheckpoint_ThatResumesToTheUninterruptedRun()
    {
        // Straight run: 3 epochs × 6 batches, with dropout, shuffling, warm-up, clipping and L2.
        var straight = new TrainerFixture(initSeed: 1, dropout: 0.2);
        using var a = new Trainer(straight.Trainable, straight.Source, TrainerFixture.Options(), straight.Evaluator);
        a.Fit();

        // The host cancels after step 7 (mid-epoch 2); a callback sees every step (losses read back each step).
        var first = new TrainerFixture(initSeed: 1, dropout: 0.2);
        var options = TrainerFixture.Options();
        options.CheckpointDirectory = _dir;
        options.LossSyncInterval = 1;
        using var cancel = new CancellationTokenSource();
        var stopper = new CancelAtStep(7, cancel);
        using (var b = new Trainer(first.Trainable, first.Source, options, first.Evaluator, callbacks: [.. Trainer.StandardCallbacks(), stopper]))
        {
            b.Fit(cancel.Token).StopReason.Should().Be(StopReason.Cancelled);
            stopper.Completed.Should().Be(StopReason.Cancelled);
        }
        File.Exists(Path.Combine(_dir, Trainer.InterruptedCheckpointName)).Should().BeTrue();

        // New objects with a different initialisation, resumed from the interrupted checkpoint.
        var second = new TrainerFixture(initSeed: 77, dropout: 0.2);
        using var c = new Trainer(second.Trainable, second.Source, TrainerFixture.Options(), second.Evaluator);
        c.ResumeFrom(Path.Combine(_dir, Trainer.InterruptedCheckpointName));
        c.Position.Should().Be(new Checkpoints.TrainingPosition(1, 1, 7));
        c.Fit();

        c.History.Steps.Select(s => s.Losses).Should().BeEquivalentTo(a.History.Steps.Select(s => s.Losses), o => o.WithStrictOrdering());
        c.History.Epochs.Select(e => e.Metrics["val_mse"]).Should().Equal(a.History.Epochs.Select(e => e.Metrics["val_mse"]));
        var expected = straight.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in second.Model.named_parameters())
            p.allclose(expected[name], 0, 0).Should().BeTrue(name);
    }

    private sealed class CancelAtStep(long step, CancellationTokenSource cancel) : ITrainerCallback
    {
        public StopReason? Completed { get; private set; }

        public void OnStep(Trainer trainer, ProgressSnapshot snapshot)
        {
            if (snapshot.GlobalStep >= step)
                cancel.Cancel();
        }

        public void OnCompleted(Trainer trainer, StopReason reason) => Completed = reason;
    }

    [Theory]
    [InlineData(PrecisionMode.Float32)]
    [InlineData(PrecisionMode.BFloat16Mixed)]
    public void ResumeFromCheckpoint_ReproducesTheUninterruptedRunBitForBit(PrecisionMode precision)
    {
        // Straight run: 3 epochs × 6 batches, with dropout, shuffling, warm-up, clipping and L2.
        var straight = new TrainerFixture(initSeed: 1, dropout: 0.2);
        using var a = new Trainer(straight.Trainable, straight.Source, TrainerFixture.Options(precision), straight.Evaluator);
        a.Fit();

        // Interrupted after 8 steps (mid-epoch 2), checkpoint written.
        var first = new TrainerFixture(initSeed: 1, dropout: 0.2);
        var interrupted = TrainerFixture.Options(precision);
        interrupted.MaxSteps = 8;
        interrupted.CheckpointDirectory = _dir;
        using (var b = new Trainer(first.Trainable, first.Source, interrupted, first.Evaluator))
        {
            var r = b.Fit();
            r.StopReason.Should().Be(StopReason.MaxStepsReached);
            r.LastCheckpoint.Should().NotBeNull();
        }

        // New objects with a different initialisation, resumed from the checkpoint.
        var second = new TrainerFixture(initSeed: 77, dropout: 0.2);
        using var c = new Trainer(second.Trainable, second.Source, TrainerFixture.Options(precision), second.Evaluator);
        c.ResumeFrom(Path.Combine(_dir, Trainer.LastCheckpointName));
        c.Position.Should().Be(new Checkpoints.TrainingPosition(1, 2, 8));
        c.Fit();

        c.History.Steps.Should().HaveCount(18);
        for (int i = 0; i < 18; i++)
        {
            c.History.Steps[i].Losses.Should().Equal(a.History.Steps[i].Losses, $"step {i + 1}");
            c.History.Steps[i].GradientNorm.Should().Be(a.History.Steps[i].GradientNorm);
        }
        c.History.Epochs.Select(e => e.Metrics["val_mse"]).Should().Equal(a.History.Epochs.Select(e => e.Metrics["val_mse"]));
        c.History.Epochs.Select(e => e.Train["loss"]).Should().Equal(a.History.Epochs.Select(e => e.Train["loss"]));
        var expected = straight.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in second.Model.named_parameters())
            p.to(ScalarType.Float32).allclose(expected[name].to(ScalarType.Float32), 0, 0).Should().BeTrue(name);
    }

    [Fact]
    public void EarlyStopping_OnScriptedMetric_StopsAfterPatienceEpochsWithoutImprovement()
    {
        // Min mode, patience 2: 1.0 (best), 0.8 (best), 0.85 (1 bad), 0.9 (2 bad) → stop after epoch 4 of 6.
        double[] script = [1.0, 0.8, 0.85, 0.9, 0.7, 0.6];
        var f = new TrainerFixture(initSeed: 1);
        var options = TrainerFixture.Options();
        options.Epochs = 6;
        options.MonitorMetric = "val_score";
        options.MonitorMode = MetricMode.Min;
        options.EarlyStoppingPatience = 2;
        options.CheckpointDirectory = _dir;
        var evaluator = new ScriptedEvaluator(script);
        using var trainer = new Trainer(f.Trainable, f.Source, options, evaluator);
        var result = trainer.Fit();

        result.StopReason.Should().Be(StopReason.EarlyStopped);
        result.EpochsCompleted.Should().Be(4);
        trainer.History.Epochs.Select(e => e.Epoch).Should().Equal(1, 2, 3, 4);
        result.BestEpoch.Should().Be(2);
        result.BestValue.Should().Be(0.8);
        result.BestCheckpoint.Should().NotBeNull();
        Checkpoints.TrainingCheckpoint.ReadInfo(result.BestCheckpoint!).Position.Should().Be(new Checkpoints.TrainingPosition(2, 0, 12));
    }

    [Fact]
    public void UnknownMonitoredMetric_FailsWithTheAvailableNames()
    {
        var f = new TrainerFixture(initSeed: 1);
        var options = TrainerFixture.Options();
        options.MonitorMetric = "val_acc";
        using var trainer = new Trainer(f.Trainable, f.Source, options, f.Evaluator);
        trainer.Invoking(t => t.Fit()).Should().Throw<InvalidOperationException>().WithMessage("*'val_acc'*val_mse*train_loss*");
    }

    [Fact]
    public void Fit_WithOutputAndCheckpointFolders_WritesHistoryChartsAndCheckpoints()
    {
        var f = new TrainerFixture(initSeed: 1);
        var options = TrainerFixture.Options();
        options.Epochs = 2;
        options.OutputDirectory = Path.Combine(_dir, "out");
        options.CheckpointDirectory = Path.Combine(_dir, "ckpt");
        using var trainer = new Trainer(f.Trainable, f.Source, options, f.Evaluator);
        trainer.Fit();

        foreach (var file in new[] { "history.json", "history.csv", "steps.csv", "loss_curves.png", "error_curves.png" })
            File.Exists(Path.Combine(options.OutputDirectory, file)).Should().BeTrue(file);
        File.Exists(Path.Combine(options.CheckpointDirectory, Trainer.LastCheckpointName)).Should().BeTrue();
        File.Exists(Path.Combine(options.CheckpointDirectory, Trainer.BestCheckpointName)).Should().BeTrue();
        var csv = File.ReadAllLines(Path.Combine(options.OutputDirectory, "history.csv"));
        csv.Should().HaveCount(3);
        csv[0].Should().StartWith("epoch,global_step,lr_factor,elapsed_seconds,train_loss,train_mse,train_mae,train_grad_norm,val_mse");
        File.ReadAllLines(Path.Combine(options.OutputDirectory, "steps.csv")).Should().HaveCount(13);
        Directory.GetFiles(_dir, ".tmp-*", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Fact]
    public void TrainingSteps_LeaveNoTensorsBehind()
    {
        var f = new TrainerFixture(initSeed: 1, dropout: 0.1);
        var options = TrainerFixture.Options(PrecisionMode.BFloat16Mixed);
        using var trainer = new Trainer(f.Trainable, f.Source, options);
        var samples = new List<BenchmarkSample>();
        var report = TrainingBenchmark.Run(trainer, steps: 60, sampleEvery: 15, samples.Add);

        report.Samples.Should().HaveCount(5);
        samples.Should().Equal(report.Samples);
        report.LiveTensorGrowth.Should().Be(0, "live tensors per sample: {0}", string.Join(", ", report.Samples.Select(s => s.LiveTensors)));
        report.Samples.Skip(1).Select(s => s.LiveTensors).Distinct().Should().ContainSingle();
        report.StepsPerSecond.Should().BePositive();
        trainer.History.Steps.Should().HaveCount(60);
    }

    [Fact]
    public void MaxSteps_StopsMidEpoch_AtThatStep()
    {
        var f = new TrainerFixture(initSeed: 1);
        var options = TrainerFixture.Options();
        options.MaxSteps = 4;
        using var trainer = new Trainer(f.Trainable, f.Source, options, f.Evaluator);
        trainer.Fit().StopReason.Should().Be(StopReason.MaxStepsReached);
        trainer.Position.Should().Be(new Checkpoints.TrainingPosition(0, 4, 4));
        trainer.History.Steps.Should().HaveCount(4);
        trainer.History.Epochs.Should().BeEmpty();
    }

    // Epoch e reports script[e − 1] as "val_score": early stopping against known values.
    private sealed class ScriptedEvaluator(double[] script) : IEvaluator
    {
        public string Split => "val";

        public IReadOnlyDictionary<string, double> Evaluate(EvaluationContext context) =>
            new Dictionary<string, double> { ["val_score"] = script[context.Epoch - 1] };

        public void AddTo(EvaluationReport report, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null) =>
            throw new NotSupportedException("A scripted metric has no report.");
    }
}
