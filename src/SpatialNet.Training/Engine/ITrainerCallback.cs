using Microsoft.Extensions.Logging;

namespace SpatialNet.Training.Engine;

/// <summary>
/// Hooks of the training loop. The loop's own duties are callbacks too — checkpoints
/// (<see cref="CheckpointCallback"/>), early stopping (<see cref="EarlyStoppingCallback"/>), progress
/// (<see cref="ProgressCallback"/>) and history with charts (<see cref="HistoryCallback"/>) — so a host
/// adds its own beside them or replaces them. Registered with dependency injection they reach every configured run.
/// </summary>
public interface ITrainerCallback
{
    /// <summary>After losses were read back (every <see cref="TrainerOptions.LossSyncInterval"/> steps).</summary>
    void OnStep(Trainer trainer, ProgressSnapshot snapshot)
    {
    }

    /// <summary>After every optimizer step, with <see cref="Trainer.Position"/> advanced.</summary>
    void OnBatchEnd(Trainer trainer)
    {
    }

    /// <summary>After each epoch's evaluation; <paramref name="improved"/>: the monitored metric improved. <see cref="Trainer.RequestStop"/> ends training here.</summary>
    void OnEpochEnd(Trainer trainer, EpochRecord record, bool improved)
    {
    }

    /// <summary>When a checkpoint was written.</summary>
    void OnCheckpoint(Trainer trainer, string path)
    {
    }

    /// <summary>When training stops, for any <paramref name="reason"/> (cancellation included).</summary>
    void OnCompleted(Trainer trainer, StopReason reason)
    {
    }
}

/// <summary>Forwards the loop's progress to an <see cref="ITrainingProgress"/> (the console line by default).</summary>
/// <param name="progress">The progress sink.</param>
public sealed class ProgressCallback(ITrainingProgress progress) : ITrainerCallback
{
    /// <summary>The progress sink.</summary>
    public ITrainingProgress Progress { get; } = progress ?? throw new ArgumentNullException(nameof(progress));

    /// <inheritdoc />
    public void OnStep(Trainer trainer, ProgressSnapshot snapshot) => Progress.OnStep(snapshot);

    /// <inheritdoc />
    public void OnEpochEnd(Trainer trainer, EpochRecord record, bool improved)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        Progress.OnEpochEnd(record, trainer.Options.Epochs);
    }

    /// <inheritdoc />
    public void OnCompleted(Trainer trainer, StopReason reason) => Progress.OnCompleted();
}

/// <summary>Writes history.json/csv, steps.csv and (unless turned off) the loss and metric curves into a folder every epoch and when stopped.</summary>
/// <param name="directory">The output folder.</param>
/// <param name="charts">Draw loss_curves.png and metric_curves.png.</param>
/// <param name="logger">Logger for a missing chart library, or null.</param>
public sealed partial class HistoryCallback(string directory, bool charts = true, ILogger? logger = null) : ITrainerCallback
{
    private bool _chartsDisabled;

    /// <inheritdoc />
    public void OnEpochEnd(Trainer trainer, EpochRecord record, bool improved) => Write(trainer);

    /// <inheritdoc />
    public void OnCompleted(Trainer trainer, StopReason reason)
    {
        if (reason is StopReason.Cancelled or StopReason.MaxStepsReached)
            Write(trainer);
    }

    private void Write(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        trainer.History.Save(directory);
        if (!charts || _chartsDisabled)
            return;
        try
        {
            TrainingCharts.WriteAll(trainer.History, directory, split: trainer.EvaluatedSplit, learningRate: trainer.Options.LearningRate);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException)
        {
            // Charts are a convenience: a host without SkiaSharp's native library still trains.
            _chartsDisabled = true;
            if (logger is not null)
                ChartsUnavailable(logger, e.Message);
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Training charts are not drawn: {Reason}")]
    private static partial void ChartsUnavailable(ILogger logger, string reason);
}
