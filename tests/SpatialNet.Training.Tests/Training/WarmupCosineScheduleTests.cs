using FluentAssertions;
using SpatialNet.Training.Optimization;
using Xunit;

namespace SpatialNet.Training.Tests.Training;

public class WarmupCosineScheduleTests
{
    [Theory]
    // T = 10, W = 2, r = 0.1. Warm-up: (s+1)/W. Decay: r + (1-r)·½(1+cos(π(s-W)/(T-W))).
    [InlineData(0, 0.5)]                    // 1/2
    [InlineData(1, 1.0)]                    // 2/2
    [InlineData(2, 1.0)]                    // progress 0 → 0.1 + 0.9·1
    [InlineData(4, 0.86819805153394640)]    // progress 0.25 → 0.1 + 0.45·(1 + √2/2)
    [InlineData(6, 0.55)]                   // progress 0.5 → 0.1 + 0.45
    [InlineData(10, 0.1)]                   // progress 1 → r
    [InlineData(25, 0.1)]                   // past the end: stays at r
    public void Factor_AtChosenSteps_EqualsHandComputation(long step, double expected)
    {
        var schedule = new WarmupCosineSchedule(totalSteps: 10, warmupSteps: 2, minLrRatio: 0.1);
        schedule.Factor(step).Should().BeApproximately(expected, 1e-12);
    }

    [Fact]
    public void WithoutWarmup_FirstStepIsFullRate_AndDecaysToZero()
    {
        var schedule = new WarmupCosineSchedule(totalSteps: 4);
        schedule.Factor(0).Should().Be(1.0);
        schedule.Factor(2).Should().BeApproximately(0.5, 1e-12); // ½(1 + cos(π/2))
        schedule.Factor(4).Should().BeApproximately(0.0, 1e-12);
    }

    [Fact]
    public void ExportImport_ContinuesFromTheSavedStep()
    {
        var a = new WarmupCosineSchedule(100, 10, 0.05);
        for (int i = 0; i < 37; i++)
            a.Advance();
        var b = new WarmupCosineSchedule(100, 10, 0.05);
        b.ImportState(a.ExportState());
        b.Step.Should().Be(37);
        b.CurrentFactor.Should().Be(a.CurrentFactor);
        a.ExportState().Should().Be(new ScheduleState(37, 100, 10, 0.05));
    }

    [Theory]
    [InlineData(0, 0, 0.0)]
    [InlineData(10, 11, 0.0)]
    [InlineData(10, 2, 1.5)]
    public void InvalidConfiguration_Throws(long total, long warmup, double ratio)
    {
        var act = () => new WarmupCosineSchedule(total, warmup, ratio);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}
