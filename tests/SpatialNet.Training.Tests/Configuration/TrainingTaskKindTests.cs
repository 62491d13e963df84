using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Training.Evaluation;
using Xunit;

namespace SpatialNet.Training.Tests.Configuration;

public sealed class TrainingTaskKindTests
{
    // A host's kind: a classification head scored by accuracy only, with its own baseline.
    private sealed class GradeKind() : TaskKindRegistration<ClassificationHeadOptions>("grade", new TaskKind("grade")), ITrainingTaskKind
    {
        public IReadOnlyList<string> Metrics { get; } = [TaskMetricNames.Accuracy];

        public string BaselineDescription => "lowest grade";

        public override TaskHead CreateHead(IServiceProvider services, string taskName, TokenLayout layout, ClassificationHeadOptions options) =>
            new ClassificationHead(taskName, layout, options);
    }

    [Fact]
    public void AHostsKind_ChoosesItsMetrics_ThroughTheTaskDefinition()
    {
        var task = new TaskDefinition("quality", new TaskKind("grade")) { KindRegistration = new GradeKind() };

        TaskMetricNames.Of(task).Should().Equal("accuracy");
        FluentActions.Invoking(() => TaskMetricNames.Of(task with { Metrics = ["macro_f1"] }))
            .Should().Throw<ArgumentException>().WithMessage("*metric 'macro_f1' is not available for grade tasks; available: accuracy.*");
    }

    [Fact]
    public void AKindWithoutTrainingBehaviour_SaysWhatItLacks()
    {
        var act = () => TaskMetricNames.Of(new TaskDefinition("quality", new TaskKind("grade")));

        act.Should().Throw<ConfigurationException>().WithMessage("*Task kind 'grade' has no training behaviour; its registration must implement ITrainingTaskKind.*");
    }

    [Theory]
    [InlineData("classification", "accuracy,macro_f1")]
    [InlineData("regression", "mae,rmse")]
    [InlineData("multi_label", "accuracy,micro_f1,macro_f1,mean_average_precision")]
    [InlineData("vqa", "overall_accuracy,average_accuracy,per_type_accuracy")]
    public void TheBuiltInKinds_KeepTheirDefaultMetrics(string kind, string metrics)
    {
        TaskMetricNames.Of(new TaskDefinition("t", new TaskKind(kind))).Should().Equal(metrics.Split(','));
    }
}
