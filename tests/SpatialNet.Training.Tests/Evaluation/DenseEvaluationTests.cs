using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Heads.Dense;
using SpatialNet.Training.Evaluation;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Evaluation;

/// <summary>Split-wide scores of per-pixel tasks, streamed batch by batch, with their constant baselines.</summary>
public sealed class DenseEvaluationTests
{
    [Fact]
    public void Segmentation_scores_the_argmax_over_batches_against_the_majority_class()
    {
        var task = new TaskDefinition("land", SegmentationTaskKind.Kind) { Head = new SegmentationHeadOptions { NumClasses = 2 } };
        var evaluation = new DenseEvaluation(task, majorityClass: 0);
        // Two batches of one 1×2 image. Probabilities pick classes [0, 1] then [1, 1]; labels [0, 1] then [255, 0].
        evaluation.Add(tensor(new float[] { 0.9f, 0.2f, 0.1f, 0.8f }, [1, 2, 1, 2]), tensor(new long[] { 0, 1 }, [1, 1, 2]));
        evaluation.Add(tensor(new float[] { 0.3f, 0.4f, 0.7f, 0.6f }, [1, 2, 1, 2]), tensor(new long[] { 255, 0 }, [1, 1, 2]));
        var result = evaluation.Compute();
        result.Samples.Should().Be(2);
        // Pairs (0,0) (1,1) (0,1): class 0 I=1 U=2, class 1 I=1 U=2 → mIoU 1/2; aAcc 2/3.
        result.Metrics[DenseMetricNames.MeanIoU].Should().BeApproximately(0.5, 1e-12);
        result.Metrics[DenseMetricNames.AllAccuracy].Should().BeApproximately(2.0 / 3, 1e-12);
        // Baseline: class 0 everywhere → pairs (0,0) (1,0) (0,0): class 0 IoU 2/3, class 1 IoU 0 → 1/3; aAcc 2/3.
        result.Baseline![DenseMetricNames.MeanIoU].Should().BeApproximately(1.0 / 3, 1e-12);
        result.Baseline![DenseMetricNames.AllAccuracy].Should().BeApproximately(2.0 / 3, 1e-12);
        result.Chance.Should().Be(0.5);
    }

    [Fact]
    public void Pixel_regression_scores_valid_pixels_against_the_training_mean()
    {
        var task = new TaskDefinition("height", PixelRegressionTaskKind.Kind) { Head = new PixelRegressionHeadOptions() };
        var evaluation = new DenseEvaluation(task, trainingMean: 1);
        evaluation.Add(tensor(new float[] { 2, 2, 0 }, [1, 1, 1, 3]), tensor(new float[] { 1, 4, float.NaN }, [1, 1, 3]));
        var result = evaluation.Compute();
        // Errors 1 and 2 → MAE 1.5, RMSE √2.5; baseline (1, 1): errors 0 and 3 → MAE 1.5, RMSE √4.5.
        result.Metrics[TaskMetricNames.MeanAbsoluteError].Should().BeApproximately(1.5, 1e-12);
        result.Metrics[TaskMetricNames.RootMeanSquaredError].Should().BeApproximately(Math.Sqrt(2.5), 1e-12);
        result.Baseline![TaskMetricNames.RootMeanSquaredError].Should().BeApproximately(Math.Sqrt(4.5), 1e-12);
    }
}
