using static TorchSharp.torch;

namespace SpatialNet.Training.Evaluation;

/// <summary>What an evaluator gets at the end of an epoch.</summary>
public sealed class EvaluationContext
{
    private readonly Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>> _prepare;

    internal EvaluationContext(int epoch, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>> prepare)
    {
        Epoch = epoch;
        _prepare = prepare;
    }

    /// <summary>1-based epoch just trained.</summary>
    public int Epoch { get; }

    /// <summary>
    /// Moves a batch to the model's device and, under mixed precision, casts its floating-point inputs
    /// to the compute dtype — the same preparation training batches get.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> PrepareBatch(IReadOnlyDictionary<string, Tensor> batch) => _prepare(batch);
}

/// <summary>
/// The evaluator contract: a model scored on one split. The trainer calls <see cref="Evaluate"/> after
/// every epoch (its <c>{task}/{metric}</c> values join the history and can be monitored); after
/// training the run's report is filled by <see cref="AddTo"/> (metrics, baselines, the paper's tables).
/// </summary>
public interface IEvaluator
{
    /// <summary>The evaluated split.</summary>
    string Split { get; }

    /// <summary>
    /// The epoch's metrics. Runs inside a dispose scope with the model in eval mode and gradients
    /// disabled; batches go through <see cref="EvaluationContext.PrepareBatch"/>.
    /// </summary>
    IReadOnlyDictionary<string, double> Evaluate(EvaluationContext context);

    /// <summary>Evaluates now (eval mode, no gradients, the mode restored) and adds the result's table rows to <paramref name="report"/>.</summary>
    /// <param name="report">The run's report.</param>
    /// <param name="prepare">Applied to each batch first (the trainer's batch preparation); null leaves batches as they are.</param>
    void AddTo(EvaluationReport report, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null);
}
