namespace SpatialNet.Training.Engine;

/// <summary>
/// Keeps a run's checkpoints in <see cref="TrainerOptions.CheckpointDirectory"/>: <c>last.safetensors</c> at
/// every epoch end, every <see cref="TrainerOptions.CheckpointEverySteps"/> steps and when stopped by
/// <see cref="TrainerOptions.MaxSteps"/> or cancellation (which also writes <c>interrupted.safetensors</c>),
/// and <c>best.safetensors</c>, a copy of <c>last</c>, whenever the monitored metric improves. Without it a
/// run writes no checkpoints (and cannot be resumed).
/// </summary>
public sealed class CheckpointCallback : ITrainerCallback
{
    /// <inheritdoc />
    public void OnBatchEnd(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        var o = trainer.Options;
        var p = trainer.Position;
        if (o.CheckpointDirectory is { } dir && o.CheckpointEverySteps > 0 && p.GlobalStep % o.CheckpointEverySteps == 0
            && p.BatchInEpoch < trainer.BatchSource.BatchesPerEpoch)
            trainer.SaveCheckpoint(Path.Combine(dir, Trainer.LastCheckpointName));
    }

    /// <inheritdoc />
    public void OnEpochEnd(Trainer trainer, EpochRecord record, bool improved)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (trainer.Options.CheckpointDirectory is not { } dir)
            return;
        trainer.SaveCheckpoint(Path.Combine(dir, Trainer.LastCheckpointName));
        if (improved)
            trainer.CopyLastToBest();
    }

    /// <inheritdoc />
    public void OnCompleted(Trainer trainer, StopReason reason)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (reason is not (StopReason.Cancelled or StopReason.MaxStepsReached) || trainer.Options.CheckpointDirectory is not { } dir)
            return;
        // The stopped position, so that Trainer.ResumeFrom continues exactly here.
        trainer.SaveCheckpoint(Path.Combine(dir, Trainer.LastCheckpointName));
        if (reason == StopReason.Cancelled)
            trainer.SaveCheckpoint(Path.Combine(dir, Trainer.InterruptedCheckpointName));
    }
}
