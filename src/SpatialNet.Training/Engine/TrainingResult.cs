namespace SpatialNet.Training.Engine;

/// <summary>Why <see cref="Trainer.Fit"/> returned.</summary>
public enum StopReason
{
    /// <summary>All configured epochs ran.</summary>
    Completed,

    /// <summary>The monitored metric stopped improving.</summary>
    EarlyStopped,

    /// <summary><see cref="TrainerOptions.MaxSteps"/> was reached.</summary>
    MaxStepsReached,

    /// <summary>The cancellation token fired.</summary>
    Cancelled,
}

/// <summary>Outcome of <see cref="Trainer.Fit"/>.</summary>
/// <param name="StopReason">Why training stopped.</param>
/// <param name="EpochsCompleted">Epochs fully trained (including those before a resume).</param>
/// <param name="GlobalStep">Optimizer steps taken in total.</param>
/// <param name="BestValue">Best value of the monitored metric, if any.</param>
/// <param name="BestEpoch">1-based epoch of <paramref name="BestValue"/> (0 if none).</param>
/// <param name="History">The metric history.</param>
/// <param name="LastCheckpoint">Path of <c>last.safetensors</c>, if saved.</param>
/// <param name="BestCheckpoint">Path of <c>best.safetensors</c>, if saved.</param>
public sealed record TrainingResult(StopReason StopReason, int EpochsCompleted, long GlobalStep, double? BestValue, int BestEpoch,
    MetricHistory History, string? LastCheckpoint, string? BestCheckpoint);
