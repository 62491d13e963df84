using SpatialNet.Heads;

namespace SpatialNet.Training.Evaluation;

/// <summary>The <c>multi_label</c> kind in training: accuracy, micro and macro F1, mAP against the label frequencies.</summary>
internal sealed class MultiLabelTraining : MultiLabelTaskKind, ITrainingTaskKind
{
    public IReadOnlyList<string> Metrics { get; } =
        [TaskMetricNames.Accuracy, TaskMetricNames.MicroF1, TaskMetricNames.MacroF1, TaskMetricNames.MeanAveragePrecision];

    public string BaselineDescription => "label frequencies of the training split";
}
