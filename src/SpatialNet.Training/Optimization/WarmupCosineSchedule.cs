namespace SpatialNet.Training.Optimization;

/// <summary>A step-based learning-rate schedule: a multiplier of each group's base learning rate.</summary>
public interface ILearningRateSchedule
{
    /// <summary>Steps taken so far (the index of the next optimizer step).</summary>
    long Step { get; }

    /// <summary>Multiplier for the optimizer step with 0-based index <paramref name="step"/>.</summary>
    double Factor(long step);

    /// <summary>Multiplier for the next step, <c>Factor(Step)</c>.</summary>
    double CurrentFactor { get; }

    /// <summary>Marks one optimizer step as taken.</summary>
    void Advance();

    /// <summary>The state needed to resume.</summary>
    ScheduleState ExportState();

    /// <summary>Restores the step counter from <paramref name="state"/>.</summary>
    void ImportState(ScheduleState state);
}

/// <summary>Saved state of a schedule: its step counter plus the configuration it ran with.</summary>
/// <param name="Step">Steps taken.</param>
/// <param name="TotalSteps">Configured total steps.</param>
/// <param name="WarmupSteps">Configured warm-up steps.</param>
/// <param name="MinLrRatio">Configured final learning-rate ratio.</param>
public sealed record ScheduleState(long Step, long TotalSteps, long WarmupSteps, double MinLrRatio);

/// <summary>
/// Linear warm-up followed by cosine decay (Loshchilov &amp; Hutter, 2017, "SGDR", without restarts;
/// the usual ViT recipe). For the 0-based step s, W warm-up steps, T total steps and final ratio r:
/// s &lt; W: (s + 1) / W; otherwise r + (1 − r)·½(1 + cos(π·min(1, (s − W) / (T − W)))).
/// The first warm-up step is 1/W (not 0, which would waste a step); the factor reaches 1 at the
/// first step after warm-up and r at step T (and stays there).
/// </summary>
public sealed class WarmupCosineSchedule : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="totalSteps">Optimizer steps of the whole run (epochs × batches per epoch), ≥ 1.</param>
    /// <param name="warmupSteps">Linear warm-up steps, 0 ≤ W ≤ T.</param>
    /// <param name="minLrRatio">Final factor r in [0, 1].</param>
    public WarmupCosineSchedule(long totalSteps, long warmupSteps = 0, double minLrRatio = 0.0)
    {
        if (totalSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "Must be >= 1.");
        if (warmupSteps < 0 || warmupSteps > totalSteps)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"Must be in [0, totalSteps = {totalSteps}].");
        if (!(minLrRatio >= 0 && minLrRatio <= 1))
            throw new ArgumentOutOfRangeException(nameof(minLrRatio), minLrRatio, "Must be in [0, 1].");
        TotalSteps = totalSteps;
        WarmupSteps = warmupSteps;
        MinLrRatio = minLrRatio;
    }

    /// <summary>Total steps T.</summary>
    public long TotalSteps { get; }

    /// <summary>Warm-up steps W.</summary>
    public long WarmupSteps { get; }

    /// <summary>Final factor r.</summary>
    public double MinLrRatio { get; }

    /// <inheritdoc />
    public long Step { get; private set; }

    /// <inheritdoc />
    public double CurrentFactor => Factor(Step);

    /// <inheritdoc />
    public double Factor(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step < WarmupSteps)
            return (step + 1) / (double)WarmupSteps;
        long decaySteps = TotalSteps - WarmupSteps;
        double progress = decaySteps <= 0 ? 1.0 : Math.Min(1.0, (step - WarmupSteps) / (double)decaySteps);
        return MinLrRatio + (1 - MinLrRatio) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <inheritdoc />
    public void Advance() => Step++;

    /// <inheritdoc />
    public ScheduleState ExportState() => new(Step, TotalSteps, WarmupSteps, MinLrRatio);

    /// <summary>
    /// Restores the step counter. The configuration of <paramref name="state"/> may differ (for
    /// example a resumed run given more epochs); the schedule keeps its own and continues from the
    /// saved step.
    /// </summary>
    public void ImportState(ScheduleState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Step < 0)
            throw new ArgumentOutOfRangeException(nameof(state), state.Step, "Schedule step must be >= 0.");
        Step = state.Step;
    }
}
