using static TorchSharp.torch;

namespace SpatialNet.Training.Engine;

/// <summary>What an evaluator gets at the end of an epoch.</summary>
public sealed class EvaluationContext
{
    private readonly Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>> _prepare;

    internal EvaluationContext(ITrainable model, int epoch, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>> prepare)
    {
        Model = model;
        Epoch = epoch;
        _prepare = prepare;
    }

    /// <summary>The model, in eval mode, with gradients disabled.</summary>
    public ITrainable Model { get; }

    /// <summary>1-based epoch just trained.</summary>
    public int Epoch { get; }

    /// <summary>
    /// Moves a batch to the model's device and, under mixed precision, casts its floating-point inputs
    /// to the compute dtype — the same preparation training batches get.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> PrepareBatch(IReadOnlyDictionary<string, Tensor> batch) => _prepare(batch);
}

/// <summary>Computes named metrics after each epoch (for example on the validation split).</summary>
public interface IEpochEvaluator
{
    /// <summary>
    /// Returns the epoch's metrics (names such as <c>val_loss</c>, <c>val_accuracy</c>). Runs inside a
    /// dispose scope with the model in eval mode and gradients disabled.
    /// </summary>
    IReadOnlyDictionary<string, double> Evaluate(EvaluationContext context);
}

/// <summary>An <see cref="IEpochEvaluator"/> from a delegate.</summary>
/// <param name="evaluate">The evaluation.</param>
public sealed class DelegateEvaluator(Func<EvaluationContext, IReadOnlyDictionary<string, double>> evaluate) : IEpochEvaluator
{
    private readonly Func<EvaluationContext, IReadOnlyDictionary<string, double>> _evaluate = evaluate ?? throw new ArgumentNullException(nameof(evaluate));

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(EvaluationContext context) => _evaluate(context);
}

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
