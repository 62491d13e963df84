using FluentAssertions;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Optimization;
using Xunit;

namespace SpatialNet.Training.Tests.Training;

/// <summary>Each step runs at the learning rate the warm-up + cosine formula gives for it, also after a resume.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class ScheduleInTrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spatialnet-schedule-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The schedule written out: W warm-up steps rise linearly, then a cosine from 1 to r over the remaining T − W.</summary>
    private static double Factor(long step, long total, long warmup, double minRatio) =>
        step < warmup
            ? (step + 1) / (double)warmup
            : minRatio + (1 - minRatio) * 0.5 * (1 + Math.Cos(Math.PI * (step - warmup) / (total - warmup)));

    [Fact]
    public void EveryStep_UsesTheScheduledLearningRate_AndAResumeRestoresTheFactor()
    {
        var fixture = new TrainerFixture(initSeed: 1);
        var options = TrainerFixture.Options();
        options.MonitorMetric = null;
        long total = options.Epochs * 6;   // 96 samples, batches of 16

        using (var trainer = new Trainer(fixture.Trainable, fixture.Source, options))
        {
            trainer.Fit();
            trainer.History.Steps.Should().HaveCount((int)total);
            for (int i = 0; i < total; i++)
                trainer.History.Steps[i].LearningRateFactor.Should().BeApproximately(Factor(i, total, options.WarmupSteps, options.MinLrRatio), 1e-12, $"step {i + 1}");
        }

        // Stop after 7 steps; a new trainer resumed from the checkpoint holds the factor of step 7 and continues with step 8's.
        var first = new TrainerFixture(initSeed: 1);
        var interrupted = TrainerFixture.Options();
        interrupted.MonitorMetric = null;
        interrupted.MaxSteps = 7;
        interrupted.CheckpointDirectory = _dir;
        using (var b = new Trainer(first.Trainable, first.Source, interrupted))
            b.Fit();
        var second = new TrainerFixture(initSeed: 9);
        var resumedOptions = TrainerFixture.Options();
        resumedOptions.MonitorMetric = null;
        using var c = new Trainer(second.Trainable, second.Source, resumedOptions);
        c.ResumeFrom(Path.Combine(_dir, Trainer.LastCheckpointName));
        c.Optimizer.LearningRateFactor.Should().BeApproximately(Factor(6, total, options.WarmupSteps, options.MinLrRatio), 1e-12);
        c.Optimizer.GetLearningRate(0).Should().BeApproximately(options.LearningRate * Factor(6, total, options.WarmupSteps, options.MinLrRatio), 1e-15);
        c.Schedule.CurrentFactor.Should().BeApproximately(Factor(7, total, options.WarmupSteps, options.MinLrRatio), 1e-12);
    }
}
