using SpatialNet.Heads.Dense;

namespace SpatialNet.Training.Evaluation;

/// <summary>The <c>segmentation</c> kind in training: mmsegmentation's IoUMetric scores against the majority class.</summary>
internal sealed class SegmentationTraining : SegmentationTaskKind, ITrainingTaskKind
{
    public IReadOnlyList<string> Metrics => DenseMetricNames.Segmentation;
    public string BaselineDescription => "majority pixel class of the training split at every pixel";
    public bool ClassIndexTargets => true;
}

/// <summary>The <c>pixel_regression</c> kind in training: MAE and RMSE over valid pixels against the training mean.</summary>
internal sealed class PixelRegressionTraining : PixelRegressionTaskKind, ITrainingTaskKind
{
    public IReadOnlyList<string> Metrics => DenseMetricNames.PixelRegression;
    public string BaselineDescription => "mean of the training split at every pixel";
}
