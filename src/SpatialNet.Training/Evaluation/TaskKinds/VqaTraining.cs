using SpatialNet.Heads;

namespace SpatialNet.Training.Evaluation;

/// <summary>The <c>vqa</c> kind in training: overall, average and per-type accuracy against the majority answer per type.</summary>
internal sealed class VqaTraining : VqaTaskKind, ITrainingTaskKind
{
    public IReadOnlyList<string> Metrics { get; } =
        [TaskMetricNames.OverallAccuracy, TaskMetricNames.AverageAccuracy, TaskMetricNames.PerTypeAccuracy, TaskMetricNames.Accuracy, TaskMetricNames.AverageOverallMean];

    public IReadOnlyList<string> DefaultMetrics { get; } = [TaskMetricNames.OverallAccuracy, TaskMetricNames.AverageAccuracy, TaskMetricNames.PerTypeAccuracy];

    public string BaselineDescription => "majority answer per question type (training split)";

    public bool ClassIndexTargets => true;
}
