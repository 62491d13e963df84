using SpatialNet.Heads;

namespace SpatialNet.Training.Evaluation;

/// <summary>The <c>classification</c> kind in training: accuracy and macro F1 against the majority class.</summary>
internal sealed class ClassificationTraining : ClassificationTaskKind, ITrainingTaskKind
{
    public IReadOnlyList<string> Metrics { get; } = [TaskMetricNames.Accuracy, TaskMetricNames.MacroF1];

    public string BaselineDescription => "majority class of the training split";

    public bool ClassIndexTargets => true;
}
