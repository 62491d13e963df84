using SpatialNet.Models;

namespace SpatialNet.Training.Evaluation;

/// <summary>
/// Adds a host's own evaluators to a configured run: registered in the container beside
/// <c>AddSpatialNetTraining</c>, it is asked once per evaluated split (the evaluation split, and the test
/// split when one is configured) for evaluators of the run's model. Their metrics join each epoch's
/// (and may be monitored); after training they add their rows to that split's report.
/// </summary>
public interface IEvaluatorFactory
{
    /// <summary>The evaluators of <paramref name="split"/> for <paramref name="model"/> (none is fine).</summary>
    /// <param name="model">The run's model, as trained.</param>
    /// <param name="split">The split being evaluated, e.g. "val".</param>
    IEnumerable<IEvaluator> Create(MultiTaskModel model, string split);
}
