using SpatialNet.Training.Engine;
using static TorchSharp.torch;

namespace SpatialNet.Training.Evaluation;

/// <summary>
/// The evaluator contract: a model scored on one split, after every epoch for the trainer
/// (<see cref="IEpochEvaluator.Evaluate"/>: <c>{task}/{metric}</c> values) and once after training,
/// when it adds its rows — the paper's Table I or Table II, baselines included — to the run's report.
/// </summary>
public interface IEvaluator : IEpochEvaluator
{
    /// <summary>The evaluated split.</summary>
    string Split { get; }

    /// <summary>Evaluates now (eval mode, no gradients, the mode restored) and adds the result's table rows to <paramref name="report"/>.</summary>
    /// <param name="report">The run's report.</param>
    /// <param name="prepare">Applied to each batch first (e.g. <see cref="Trainer.PrepareBatch"/>); null leaves batches as they are.</param>
    void AddTo(EvaluationReport report, Func<IReadOnlyDictionary<string, Tensor>, IReadOnlyDictionary<string, Tensor>>? prepare = null);
}
