using FluentAssertions;
using SpatialNet.Training.Metrics;
using Xunit;

namespace SpatialNet.Training.Tests.Metrics;

/// <summary>mmsegmentation's IoUMetric definitions and per-pixel regression errors on cases computed by hand.</summary>
public sealed class SegmentationMetricsTests
{
    [Fact]
    public void Areas_are_summed_over_images_and_ignored_pixels_count_nowhere()
    {
        var areas = new SegmentationAreas(3);
        // Image A: the ignored pixel (255) is predicted as class 2 and must not add to class 2's predicted area.
        areas.Add([0, 0, 1, 1, 255, 2], [0, 1, 1, 1, 2, 0]);
        areas.Add([1, 2, 2, 255], [1, 2, 0, 0]);

        // Pairs kept: (0,0) (0,1) (1,1) (1,1) (2,0) | (1,1) (2,2) (2,0).
        areas.Labelled.Should().Equal(2, 3, 3);
        areas.Predicted.Should().Equal(3, 4, 1);
        areas.Intersection.Should().Equal(1, 3, 1);
        areas.Union.Should().Equal(4, 4, 3);

        var r = areas.Compute();
        MetricAssert.Close(r.AllAccuracy, 5.0 / 8, "aAcc");
        r.PerClassIoU.Should().Equal(1.0 / 4, 3.0 / 4, 1.0 / 3);
        MetricAssert.Close(r.MeanIoU, 4.0 / 9, "mIoU");
        r.PerClassAccuracy.Should().Equal(1.0 / 2, 1.0, 1.0 / 3);
        MetricAssert.Close(r.MeanAccuracy, 11.0 / 18, "mAcc");
        MetricAssert.Close(r.MeanDice, (2.0 / 5 + 6.0 / 7 + 2.0 / 4) / 3, "mDice");
        MetricAssert.Close(r.MeanPrecision, (1.0 / 3 + 3.0 / 4 + 1.0) / 3, "mPrecision");
        MetricAssert.Close(r.MeanRecall, r.MeanAccuracy, "mRecall");
        // With every ratio defined, F1 = 2PR/(P+R) = 2I/(Pred+Label) = Dice, class by class.
        for (int c = 0; c < 3; c++) MetricAssert.Close(r.PerClassFscore[c], r.PerClassDice[c], $"F1 vs Dice, class {c}");
        MetricAssert.Close(r.MeanFscore, r.MeanDice, "mFscore");
    }

    [Fact]
    public void Classes_with_undefined_ratios_are_left_out_of_the_means()
    {
        // Class 2 is predicted but never labelled; class 3 neither predicted nor labelled.
        var areas = new SegmentationAreas(4);
        areas.Add([0, 0, 1, 1], [0, 2, 1, 1]);
        var r = areas.Compute();

        // IoU: 1/2, 1, 0 (union 1), NaN (union 0).
        r.PerClassIoU[2].Should().Be(0);
        double.IsNaN(r.PerClassIoU[3]).Should().BeTrue();
        MetricAssert.Close(r.MeanIoU, 1.5 / 3, "mIoU");
        // Acc: 1/2, 1, NaN (no label), NaN.
        double.IsNaN(r.PerClassAccuracy[2]).Should().BeTrue();
        MetricAssert.Close(r.MeanAccuracy, 0.75, "mAcc");
        // Dice: 2/3, 1, 0 (pred+label = 1), NaN.
        MetricAssert.Close(r.MeanDice, (2.0 / 3 + 1 + 0) / 3, "mDice");
        // F1: class 0 P=1, R=1/2 → 2/3; class 1 → 1; class 2 recall 0/0 → NaN; class 3 NaN.
        double.IsNaN(r.PerClassFscore[2]).Should().BeTrue();
        MetricAssert.Close(r.MeanFscore, (2.0 / 3 + 1) / 2, "mFscore");
        MetricAssert.Close(r.AllAccuracy, 3.0 / 4, "aAcc");
    }

    [Fact]
    public void Reduce_zero_label_ignores_zero_and_shifts_the_other_labels_down()
    {
        var areas = new SegmentationAreas(3, reduceZeroLabel: true);
        // Labels become 255, 0, 1, 2, 255: pairs (0,0) (1,1) (2,0); the prediction 5 at an ignored pixel is not counted.
        areas.Add([0, 1, 2, 3, 255], [5, 0, 1, 0, 0]);
        var r = areas.Compute();
        areas.Labelled.Should().Equal(1, 1, 1);
        areas.Predicted.Should().Equal(2, 1, 0);
        MetricAssert.Close(r.AllAccuracy, 2.0 / 3, "aAcc");
        r.PerClassIoU.Should().Equal(1.0 / 2, 1.0, 0.0);
        MetricAssert.Close(r.MeanIoU, 0.5, "mIoU");
        MetricAssert.Close(r.MeanAccuracy, 2.0 / 3, "mAcc");
    }

    [Fact]
    public void A_label_outside_the_classes_is_refused_with_its_value_and_position()
    {
        var areas = new SegmentationAreas(3);
        var act = () => areas.Add([0, 1, 3], [0, 1, 2]);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*label value 3 at pixel 2*[0, 3)*255*");
    }

    [Fact]
    public void A_custom_ignore_index_is_honoured_and_an_out_of_range_prediction_is_a_miss()
    {
        var areas = new SegmentationAreas(2, ignoreIndex: 0 + 9);
        areas.Add([0, 1, 9], [0, 7, 1]);
        var r = areas.Compute();
        areas.Predicted.Should().Equal(1, 0);
        MetricAssert.Close(r.AllAccuracy, 0.5, "aAcc");
        r.PerClassIoU.Should().Equal(1.0, 0.0);
    }

    [Fact]
    public void Nothing_to_score_is_an_error()
    {
        var areas = new SegmentationAreas(2);
        areas.Add([255, 255], [0, 1]);
        var act = () => areas.Compute();
        act.Should().Throw<InvalidOperationException>().WithMessage("*ignored*");
    }

    [Fact]
    public void Pixel_regression_errors_cover_valid_finite_pixels_of_every_image()
    {
        var errors = new PixelRegressionErrors();
        // Valid: pixel 0 (error 1) and 1 (error 0); pixel 2 has a NaN target, pixel 3 is masked out.
        errors.Add([1f, 2f, float.NaN, 4f], [2f, 2f, 5f, 0f], [true, true, true, false]);
        errors.Add([3f], [0f]);
        var r = errors.Compute();
        r.Count.Should().Be(3);
        MetricAssert.Close(r.Mae, 4.0 / 3, "MAE");
        MetricAssert.Close(r.Rmse, Math.Sqrt(10.0 / 3), "RMSE");
    }
}
