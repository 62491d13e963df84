using FluentAssertions;
using SpatialNet.Training.Metrics;
using Xunit;

namespace SpatialNet.Training.Tests.Metrics;

/// <summary>VQA, classification and regression metrics on tiny sets computed by hand.</summary>
public sealed class TaskMetricsTests
{
    [Theory]
    [InlineData(0, "0")]
    [InlineData(1, "between 1 and 10")]
    [InlineData(10, "between 1 and 10")]
    [InlineData(11, "between 11 and 100")]
    [InlineData(100, "between 11 and 100")]
    [InlineData(101, "between 101 and 1000")]
    [InlineData(1000, "between 101 and 1000")]
    [InlineData(1001, "more than 1000")]
    public void Count_bins_have_the_baseline_boundaries(long count, string bin)
    {
        CountAnswerBins.ToBin(count).Should().Be(bin);
        CountAnswerBins.Normalize(count.ToString(System.Globalization.CultureInfo.InvariantCulture)).Should().Be(bin);
    }

    [Fact]
    public void Count_bin_normalisation_keeps_bin_labels_and_rejects_negative_counts()
    {
        CountAnswerBins.Normalize("between 11 and 100").Should().Be("between 11 and 100");
        var act = () => CountAnswerBins.ToBin(-1);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Vqa_reports_per_type_accuracy_AA_and_OA()
    {
        var answers = new[]
        {
            // count: 3 vs 5 same bin (right), 12 vs 9 different bins (wrong), 0 vs 0 (right) → 2/3
            new VqaAnswer("count", "3", "5"),
            new VqaAnswer("count", "12", "9"),
            new VqaAnswer("count", "0", "0"),
            // presence: 1/2
            new VqaAnswer("presence", "yes", "yes"),
            new VqaAnswer("presence", "yes", "no"),
            // comp: 1/1
            new VqaAnswer("comp", "no", "no"),
            // rural_urban: 1/2
            new VqaAnswer("rural_urban", "urban", "rural"),
            new VqaAnswer("rural_urban", "rural", "rural"),
        };

        var r = VqaMetrics.Compute(answers);
        r.PerType["count"].Accuracy.Should().BeApproximately(2.0 / 3, 1e-15);
        r.PerType["presence"].Accuracy.Should().Be(0.5);
        r.PerType["comp"].Accuracy.Should().Be(1.0);
        r.PerType["rural_urban"].Accuracy.Should().Be(0.5);
        // AA = (2/3 + 1/2 + 1 + 1/2) / 4 = (8/3) / 4 = 2/3; OA = 5 right / 8.
        r.AverageAccuracy.Should().BeApproximately(2.0 / 3, 1e-15);
        r.OverallAccuracy.Should().Be(5.0 / 8);
        r.Confusion["between 11 and 100", "between 1 and 10"].Should().Be(1);
        r.Confusion["yes", "no"].Should().Be(1);
        r.Confusion.Total.Should().Be(8);
    }

    [Fact]
    public void Vqa_average_accuracy_is_over_the_types_present()
    {
        var r = VqaMetrics.Compute([new VqaAnswer("presence", "yes", "yes"), new VqaAnswer("comp", "yes", "no")]);
        r.PerType.Keys.Should().BeEquivalentTo(["presence", "comp"]);
        r.AverageAccuracy.Should().Be(0.5);
    }

    [Fact]
    public void Classification_macro_f1_per_class_accuracy_and_confusion_by_hand()
    {
        // expected [0,0,1,1,2,2], predicted [0,1,1,1,2,0]
        // class 0: TP 1, FP 1, FN 1 → F1 = 2/4 = 0.5; class 1: TP 2, FP 1, FN 0 → 4/5;
        // class 2: TP 1, FP 0, FN 1 → 2/3. Macro-F1 = (0.5 + 0.8 + 2/3) / 3.
        var r = ClassificationMetrics.Compute([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], ["a", "b", "c"]);
        r.Accuracy.Should().BeApproximately(4.0 / 6, 1e-15);
        r.PerClassAccuracy.Should().Equal(0.5, 1.0, 0.5);
        r.PerClassF1[0].Should().Be(0.5);
        r.PerClassF1[1].Should().BeApproximately(0.8, 1e-15);
        r.PerClassF1[2].Should().BeApproximately(2.0 / 3, 1e-15);
        r.MacroF1.Should().BeApproximately((0.5 + 0.8 + 2.0 / 3) / 3, 1e-15);
        r.Confusion[2, 0].Should().Be(1);
        r.Confusion["a", "b"].Should().Be(1);
    }

    [Fact]
    public void Classification_rejects_out_of_range_labels_naming_the_position()
    {
        var act = () => ClassificationMetrics.Compute([0, 3], [0, 0], ["a", "b"]);
        act.Should().Throw<ArgumentException>().WithMessage("*expected[1] = 3*");
    }

    [Fact]
    public void Regression_mae_and_rmse_by_hand()
    {
        // errors 1, 0, 2: MAE = 3/3 = 1; RMSE = sqrt((1 + 0 + 4)/3).
        var r = RegressionMetrics.Compute([1, 2, 3], [2, 2, 5]);
        r.Mae.Should().Be(1.0);
        r.Rmse.Should().BeApproximately(Math.Sqrt(5.0 / 3), 1e-15);
    }
}
