using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Modules;
using Xunit;

namespace SpatialNet.Core.Tests.DependencyInjection;

/// <summary>Every misconfiguration fails at start (and at first resolution) with a message naming the option and its allowed values.</summary>
public class ValidationTests
{
    private static void Tiny(VisionTransformerOptions o)
    {
        o.ImageSize = 16;
        o.PatchSize = 4;
        o.EmbedDim = 16;
        o.Depth = 1;
        o.NumHeads = 2;
    }

    private static ServiceProvider Build(Action<SpatialNetBuilder> configure)
    {
        var services = new ServiceCollection();
        services.AddSpatialNet(configure);
        return services.BuildServiceProvider();
    }

    public static TheoryData<string, Action<SpatialNetBuilder>, string> Misconfigurations => new()
    {
        {
            "image size not divisible by patch",
            sn => sn.UseVisionTransformer(o => { Tiny(o); o.ImageSize = 250; o.PatchSize = 16; }).AddRegressionTask("n"),
            "VisionTransformerOptions.ImageHeight = 250; allowed: a positive multiple of PatchSize = 16."
        },
        {
            "heads not dividing D",
            sn => sn.UseVisionTransformer(o => { Tiny(o); o.NumHeads = 5; }).AddRegressionTask("n"),
            "VisionTransformerOptions.NumHeads = 5; allowed: a positive divisor of EmbedDim = 16."
        },
        {
            "empty task list",
            sn => sn.UseVisionTransformer(Tiny),
            "SpatialNetOptions.Tasks is empty; allowed: at least one task (AddClassificationTask, AddRegressionTask, AddMultiLabelTask or AddTask)."
        },
        {
            "duplicate task names",
            sn => sn.UseVisionTransformer(Tiny).AddRegressionTask("n").AddClassificationTask("n", classes: 2),
            "SpatialNetOptions.Tasks: task name 'n' is registered 2 times; allowed: each task name once."
        },
        {
            "task name that cannot be a state-dict key",
            sn => sn.UseVisionTransformer(Tiny).AddRegressionTask("land.use"),
            "SpatialNetOptions.Tasks: Task name 'land.use' is not allowed; allowed: a non-empty name of letters, digits, '_' and '-'."
        },
        {
            "negative task weight λ_t",
            sn => sn.UseVisionTransformer(Tiny).AddRegressionTask("n", o => o.LossWeight = -1),
            "Task 'n': RegressionHeadOptions.LossWeight = -1 is not allowed; allowed: a finite number >= 0 (λ_t of Eq. 6)."
        },
        {
            "negative λ_reg",
            sn => sn.UseVisionTransformer(Tiny).AddRegressionTask("n").UseL2(-0.5),
            "SpatialNetOptions.L2Lambda = -0.5; allowed: a finite number >= 0 (λ_reg of Eq. 10–11; paper: 0.01)."
        },
        {
            "non-positive classes",
            sn => sn.UseVisionTransformer(Tiny).AddClassificationTask("land_use", classes: 0),
            "Task 'land_use': ClassificationHeadOptions.NumClasses = 0 is not allowed; allowed: an integer >= 1."
        },
        {
            "label smoothing out of range",
            sn => sn.UseVisionTransformer(Tiny).AddClassificationTask("land_use", classes: 3, o => o.LabelSmoothing = -0.1),
            "Task 'land_use': ClassificationHeadOptions.LabelSmoothing = -0.1 is not allowed; allowed: a number in [0, 1)."
        },
        {
            "class weights of the wrong length",
            sn => sn.UseVisionTransformer(Tiny).AddClassificationTask("land_use", classes: 3, o => o.ClassWeights = [1, 2]),
            "Task 'land_use': ClassificationHeadOptions.ClassWeights = [1, 2] is not allowed; allowed: null or 3 weights (one per class, NumClasses = 3)."
        },
        {
            "non-positive labels",
            sn => sn.UseVisionTransformer(Tiny).AddMultiLabelTask("objects", labels: -2),
            "Task 'objects': MultiLabelHeadOptions.NumLabels = -2 is not allowed; allowed: an integer >= 1."
        },
        {
            "non-positive target std",
            sn => sn.UseVisionTransformer(Tiny).AddRegressionTask("n", o => o.TargetStd = -1),
            "Task 'n': RegressionHeadOptions.TargetStd = -1 is not allowed; allowed: a finite number > 0."
        },
        {
            "dropout of 1",
            sn => sn.UseVisionTransformer(Tiny).AddRegressionTask("n", o => o.Dropout = 1),
            "Task 'n': RegressionHeadOptions.Dropout = 1 is not allowed; allowed: a number in [0, 1)."
        },
        {
            "attention pooling heads not dividing D",
            sn => sn.UseVisionTransformer(Tiny).AddRegressionTask("n", o => { o.Pooling = PoolingKind.Attention; o.AttentionPoolHeads = 3; }),
            "Task 'n': RegressionHeadOptions.AttentionPoolHeads = 3 is not allowed; allowed: a positive divisor of the encoder width D = 16."
        },
        {
            "class-token pooling without a class token",
            sn => sn.UseVisionTransformer(o => { Tiny(o); o.ClassToken = false; o.GlobalPool = GlobalPool.Average; })
                .AddRegressionTask("n", o => o.Pooling = PoolingKind.ClassToken),
            "Task 'n': RegressionHeadOptions.Pooling = ClassToken is not allowed; allowed: Mean, Attention or null (the encoder has no class token)."
        },
    };

    [Theory]
    [MemberData(nameof(Misconfigurations))]
    public void StartValidationNamesTheOptionAndTheAllowedValues(string what, Action<SpatialNetBuilder> configure, string message)
    {
        using var sp = Build(configure);

        var act = () => sp.ValidateSpatialNet();

        act.Should().Throw<OptionsValidationException>(what).Which.Failures.Should().Contain(message);
    }

    [Theory]
    [MemberData(nameof(Misconfigurations))]
    public void ResolvingTheModelFailsWithTheSameMessage(string what, Action<SpatialNetBuilder> configure, string message)
    {
        using var sp = Build(configure);

        var act = () => sp.GetRequiredService<MultiTaskModel>();

        act.Should().Throw<OptionsValidationException>(what).Which.Failures.Should().Contain(message);
    }

    [Fact]
    public void AllProblemsAreReportedTogether()
    {
        using var sp = Build(sn => sn.UseVisionTransformer(Tiny).AddClassificationTask("a", classes: 0, o => { o.LabelSmoothing = 2; o.LossWeight = -1; }));

        var act = () => sp.ValidateSpatialNet();

        act.Should().Throw<OptionsValidationException>().Which.Failures.Should().HaveCount(3);
    }

    [Fact]
    public void AValidConfigurationPassesStartValidation()
    {
        using var sp = Build(sn => sn.UseVisionTransformer(Tiny).AddClassificationTask("land_use", classes: 21).AddRegressionTask("building_count"));

        var act = () => sp.ValidateSpatialNet();

        act.Should().NotThrow();
    }
}
