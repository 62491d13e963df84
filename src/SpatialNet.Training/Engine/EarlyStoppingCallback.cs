namespace SpatialNet.Training.Engine;

/// <summary>
/// Stops training once <see cref="TrainerOptions.MonitorMetric"/> did not improve for
/// <see cref="TrainerOptions.EarlyStoppingPatience"/> epochs (<see cref="Trainer.Monitor"/>). Without it the
/// monitor still picks the best epoch, but every configured epoch runs.
/// </summary>
public sealed class EarlyStoppingCallback : ITrainerCallback
{
    /// <inheritdoc />
    public void OnEpochEnd(Trainer trainer, EpochRecord record, bool improved)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (trainer.Monitor is { ShouldStop: true })
            trainer.RequestStop();
    }
}
