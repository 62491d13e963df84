using SpatialNet.Heads;

namespace SpatialNet.Training.Evaluation;

/// <summary>The <c>regression</c> kind in training: MAE and RMSE against the training mean.</summary>
internal sealed class RegressionTraining : RegressionTaskKind, ITrainingTaskKind
{
    public IReadOnlyList<string> Metrics { get; } = [TaskMetricNames.MeanAbsoluteError, TaskMetricNames.RootMeanSquaredError];

    public string BaselineDescription => "mean of the training split";
}
