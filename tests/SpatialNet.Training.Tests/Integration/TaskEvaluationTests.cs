using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Training.Data;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Metrics;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Integration;

public sealed class TaskEvaluationTests
{
    [Fact]
    public void Classification_OnAHandMadeSet_GivesAccuracyMacroF1BaselineAndChance()
    {
        // Expected [0, 1, 2, 2, 1]; arg-max of the probabilities [0, 2, 2, 2, 1].
        var probabilities = tensor(new float[,]
        {
            { 0.7f, 0.2f, 0.1f }, { 0.1f, 0.3f, 0.6f }, { 0.2f, 0.2f, 0.6f }, { 0.1f, 0.1f, 0.8f }, { 0.3f, 0.6f, 0.1f },
        });
        var task = new TaskDefinition("land_use", TaskKind.Classification)
        {
            Labels = ["a", "b", "c"],
            // Training counts 1, 3, 2: the majority class is "b".
            Statistics = TargetStatistics.FromClasses([0, 1, 1, 1, 2, 2], 3),
        };
        var set = new TaskPredictionSet(task);
        set.Add(probabilities.narrow(0, 0, 2), tensor(new long[] { 0, 1 }));
        set.Add(probabilities.narrow(0, 2, 3), tensor(new long[] { 2, 2, 1 }));
        set.AddLoss(1.0, 2);
        set.AddLoss(0.5, 3);

        var e = set.Compute();

        // 4 of 5 right. Per class F1: a: TP 1 → 1; b: TP 1, FN 1 → 2/3; c: TP 2, FP 1 → 4/5. Mean = (1 + 2/3 + 4/5)/3.
        e.Metrics["accuracy"].Should().Be(0.8);
        e.Metrics["macro_f1"].Should().BeApproximately((1 + 2.0 / 3 + 0.8) / 3, 1e-12);
        // Always "b": right on the 2 samples of class b. F1: b = 2·2/(2·2 + 3) = 4/7, a and c 0.
        e.Baseline!["accuracy"].Should().Be(0.4);
        e.Baseline["macro_f1"].Should().BeApproximately(4.0 / 7 / 3, 1e-12);
        e.Chance.Should().BeApproximately(1.0 / 3, 1e-15);
        e.MeanLoss.Should().BeApproximately((1.0 * 2 + 0.5 * 3) / 5, 1e-12);
        e.Classification!.Confusion["b", "c"].Should().Be(1);
        e.PrimaryMetric.Should().Be("accuracy");
    }

    [Fact]
    public void Regression_GivesMaeRmse_AndThePredictTheTrainingMeanBaseline()
    {
        var task = new TaskDefinition("count", TaskKind.Regression) { Statistics = TargetStatistics.FromValues([[2.0], [4.0]]) };
        var set = new TaskPredictionSet(task);
        set.Add(tensor(new float[] { 1.5f, 2f, 2f, 6f }), tensor(new float[] { 1, 2, 3, 6 }));

        var e = set.Compute();

        // |errors| 0.5, 0, 1, 0 → MAE 0.375; RMSE √((0.25 + 1)/4). Baseline 3: |−2|, |−1|, 0, 3 → 1.5; √((4 + 1 + 0 + 9)/4).
        e.Metrics["mae"].Should().BeApproximately(0.375, 1e-12);
        e.Metrics["rmse"].Should().BeApproximately(Math.Sqrt(1.25 / 4), 1e-12);
        e.Baseline!["mae"].Should().BeApproximately(1.5, 1e-12);
        e.Baseline["rmse"].Should().BeApproximately(Math.Sqrt(14.0 / 4), 1e-12);
        e.Chance.Should().BeNull();
        e.PrimaryMetric.Should().Be("mae");
    }

    [Fact]
    public void MultiLabel_GivesAccuracyF1AndAveragePrecision_ByHand()
    {
        // 4 samples × 2 labels. Label 0 targets 1,0,1,0 with scores .9,.8,.4,.1; label 1 targets 0,0,0,1 with scores .2,.3,.1,.7.
        var targets = tensor(new float[,] { { 1, 0 }, { 0, 0 }, { 1, 0 }, { 0, 1 } });
        var scores = tensor(new float[,] { { 0.9f, 0.2f }, { 0.8f, 0.3f }, { 0.4f, 0.1f }, { 0.1f, 0.7f } });
        var task = new TaskDefinition("objects", TaskKind.MultiLabel) { Statistics = TargetStatistics.FromValues([[1.0, 0.0], [0.0, 0.0]]) };
        var set = new TaskPredictionSet(task);
        set.Add(scores, targets);

        var e = set.Compute();

        // Decisions ≥ 0.5: label 0 → 1,1,0,0 (TP 1, FP 1, FN 1); label 1 → 0,0,0,1 (TP 1). 6 of 8 right.
        e.Metrics["accuracy"].Should().Be(0.75);
        e.Metrics["micro_f1"].Should().BeApproximately(2.0 * 2 / (2 * 2 + 1 + 1), 1e-12);
        e.Metrics["macro_f1"].Should().BeApproximately((0.5 + 1.0) / 2, 1e-12);
        // AP label 0: ranks .9 (pos) P=1 R=.5, .8 (neg), .4 (pos) P=2/3 R=1 → .5·1 + .5·2/3. Label 1: the top score is the positive → 1.
        e.Metrics["mean_average_precision"].Should().BeApproximately(((0.5 + 0.5 * 2.0 / 3) + 1.0) / 2, 1e-12);
        // Prior (0.5, 0): decisions 1 for label 0 (0.5 ≥ 0.5), 0 for label 1 → right on 2 + 3 of 8.
        e.Baseline!["accuracy"].Should().Be(5.0 / 8);
        e.Chance.Should().Be(0.5);
    }

    [Fact]
    public void AveragePrecision_TreatsTiedScoresAsOneThreshold()
    {
        // Scores tie at 0.5 for a positive and a negative: one threshold with P = 1/2 at R = 1 (scikit-learn gives 0.5).
        var r = MultiLabelMetrics.Compute([[1.0], [0.0]], [[0.5], [0.5]]);
        r.PerLabelAveragePrecision[0].Should().Be(0.5);
    }

    [Fact]
    public void Vqa_IsScoredPerQuestionType_WithTheMajorityAnswerPerTypeAsBaseline()
    {
        // Answers: 0 "yes", 1 "no", 2 "rural", 3 "urban". Types: presence (1) ×3, rural_urban (0) ×2.
        var task = new TaskDefinition("answers", TaskKind.VisualQuestionAnswering)
        {
            Labels = ["yes", "no", "rural", "urban"],
            Statistics = TargetStatistics.FromClasses([1, 1, 0, 3, 3, 2], 4, [1, 1, 1, 0, 0, 0]),
        };
        var set = new TaskPredictionSet(task);
        var probs = zeros(5, 4);
        long[] predicted = [0, 1, 0, 3, 3];
        for (int i = 0; i < 5; i++) probs[i, predicted[i]] = tensor(1f);
        set.Add(probs, tensor(new long[] { 0, 1, 1, 3, 2 }), tensor(new long[] { 1, 1, 1, 0, 0 }));

        var e = set.Compute();

        // presence: 2 of 3; rural_urban: 1 of 2. AA = (2/3 + 1/2)/2; OA = 3/5.
        e.Metrics["presence_accuracy"].Should().BeApproximately(2.0 / 3, 1e-12);
        e.Metrics["rural_urban_accuracy"].Should().Be(0.5);
        e.Metrics["average_accuracy"].Should().BeApproximately((2.0 / 3 + 0.5) / 2, 1e-12);
        e.Metrics["overall_accuracy"].Should().Be(0.6);
        e.PrimaryMetric.Should().Be("overall_accuracy");
        // Majority per type: presence "no" (right on 2 of 3), rural_urban "urban" (1 of 2).
        e.Baseline!["overall_accuracy"].Should().Be(0.6);
        e.VqaBaseline!.PerType["presence"].Correct.Should().Be(2);
        ((int)RsvqaQuestionType.Presence).Should().Be(1, "the test's type ids");
    }

    [Fact]
    public void ConditioningAnswersOnTheQuestionType_AnswersAmongTheTypesAnswers()
    {
        // Every question scores "yes" highest; rural_urban questions (type 0) only ever had rural/urban answers.
        var task = new TaskDefinition("answers", TaskKind.VisualQuestionAnswering)
        {
            Labels = ["yes", "no", "rural", "urban"],
            Statistics = TargetStatistics.FromClasses([0, 1, 2, 3], 4, [1, 1, 0, 0]),
            Head = new ClassificationHeadOptions { NumClasses = 4 }, // an image-only answer classifier
        };
        var set = new TaskPredictionSet(task);
        set.Add(tensor(new float[,] { { 0.5f, 0.1f, 0.1f, 0.3f }, { 0.6f, 0.1f, 0.2f, 0.1f } }), tensor(new long[] { 3, 0 }), tensor(new long[] { 0, 1 }));

        var e = set.Compute();

        // Each answer is 1 of 4 overall and 1 of 2 in its type: factor 2 for the type's answers, 0 for the others.
        e.Vqa!.Confusion["urban", "urban"].Should().Be(1, "urban (0.3·2) beats rural (0.1·2); yes (0.5) is not a rural_urban answer");
        e.Metrics["overall_accuracy"].Should().Be(1.0);

        // Presence (type 1): yes 3, no 1; comparisons (type 3): no 4. Overall yes 3/8, no 5/8.
        // Factors for presence: yes (3/4)/(3/8) = 2, no (1/4)/(5/8) = 0.4. Scores yes 0.3, no 0.7 → 0.6 against 0.28: yes.
        var prior = new TaskPredictionSet(task with { Statistics = TargetStatistics.FromClasses([0, 0, 0, 1, 1, 1, 1, 1], 4, [1, 1, 1, 1, 3, 3, 3, 3]) });
        prior.Add(tensor(new float[,] { { 0.3f, 0.7f, 0f, 0f } }), tensor(new long[] { 0 }), tensor(new long[] { 1 }));
        prior.Compute().Metrics["overall_accuracy"].Should().Be(1.0);
    }

    [Fact]
    public void AMetricTheKindDoesNotHave_IsRejectedWithTheAvailableOnes()
    {
        var act = () => new TaskPredictionSet(new TaskDefinition("count", TaskKind.Regression) { Metrics = ["accuracy"] });
        act.Should().Throw<ArgumentException>().WithMessage("*'count'*'accuracy'*mae, rmse*");
    }
}
