using SpatialNet.Heads;

namespace SpatialNet.Training.Evaluation;

/// <summary>
/// What a task kind contributes to training, evaluation and reports, beside its head
/// (<see cref="TaskKindRegistration"/>): a kind's registration implements both. The built-in kinds do;
/// a host's kind derives from <see cref="TaskKindRegistration{TOptions}"/> and implements this interface.
/// </summary>
public interface ITrainingTaskKind
{
    /// <summary>The metric names tasks of this kind support (<c>tasks:N:metrics</c>), in the order reports list them.</summary>
    IReadOnlyList<string> Metrics { get; }

    /// <summary>The metrics reported when the configuration names none. Default: <see cref="Metrics"/>.</summary>
    IReadOnlyList<string> DefaultMetrics => Metrics;

    /// <summary>What the report's baseline row is (e.g. "majority class of the training split"); "none" when there is none.</summary>
    string BaselineDescription => "none";

    /// <summary>Whether the targets are class indices read from one sample entry (so <c>tasks:N:target</c> names one entry).</summary>
    bool ClassIndexTargets => false;
}
