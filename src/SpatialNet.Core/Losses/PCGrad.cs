using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Heads;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// Projecting Conflicting Gradients: Yu, Kumar, Gupta, Levine, Hausman and Finn, "Gradient Surgery
/// for Multi-Task Learning", NeurIPS 2020. The objective is the weighted sum of Eq. (6); the
/// gradient on the shared parameters is changed so that no task's gradient opposes another's.
/// </summary>
/// <remarks>
/// <para>
/// In <see cref="ComposedLoss.Backward"/>: one backward pass per present task t (T in all) gives
/// g_t = ∇(λ_t·L_t) on the shared parameters (<see cref="LossContext.SharedParameters"/>). For each
/// t in the order <see cref="Orders"/> draws from (seed, step): if g_t^PC·g_j &lt; 0 then
/// g_t^PC ← g_t^PC − (g_t^PC·g_j / ‖g_j‖²)·g_j. The shared gradient becomes Σ_t g_t^PC. The
/// projections run on the Gramian in double (TorchJD's form: g_t^PC = Σ_k c_tk g_k), the sum in
/// the parameters' precision (float64 parameters: float64 throughout); task-specific parameters get
/// Σ_t g_t; penalties (<see cref="ComposedLoss.AddPenalty"/>) their own gradients. The reported
/// weights are Σ_t c_tk·λ_k.
/// </para>
/// <para>
/// The order depends only on the seed and <see cref="LossContext.Step"/>, so a run resumed from a
/// checkpoint projects exactly as the uninterrupted one. With one task it equals the weighted sum.
/// </para>
/// </remarks>
public sealed class PCGrad : ILossComposer
{
    private readonly GradientComposer composer;

    /// <summary>Every task weighted 1; <paramref name="seed"/> fixes the projection orders.</summary>
    public PCGrad(int seed = 0) : this(new Dictionary<string, double>(), seed)
    {
    }

    /// <summary>Task weights λ_t from <paramref name="tasks"/>; <paramref name="seed"/> fixes the projection orders.</summary>
    [ActivatorUtilitiesConstructor]
    public PCGrad(TaskCatalog tasks, int seed = 0)
        : this((tasks ?? throw new ArgumentNullException(nameof(tasks))).ToDictionary(t => t.Name, t => t.LossWeight), seed)
    {
    }

    /// <summary>Explicit task weights λ_t (others 1); <paramref name="seed"/> fixes the projection orders.</summary>
    public PCGrad(IReadOnlyDictionary<string, double> weights, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(weights);
        composer = new GradientComposer("pcgrad", new PCGradAggregator(seed), weights);
        Seed = seed;
    }

    /// <inheritdoc />
    public string Name => composer.Name;

    /// <summary>The seed of the projection orders.</summary>
    public int Seed { get; }

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, nameof(PCGrad));
        ArgumentNullException.ThrowIfNull(context);
        if (context.SharedParameters?.Any(p => p.requires_grad) != true)
        {
            throw new ArgumentException(
                "PCGrad needs LossContext.SharedParameters: the trainable parameters every task shares (the encoder's).", nameof(context));
        }

        return composer.Compose(taskLosses, context);
    }

    /// <summary>
    /// The projection orders of step <paramref name="step"/>: for each of <paramref name="count"/>
    /// tasks, the other tasks in a uniformly random order (Fisher–Yates driven by SplitMix64 of
    /// (seed, step, task)), the same on every run and after every resume.
    /// </summary>
    internal static int[][] Orders(int seed, long step, int count) => TaskOrders.Draw(seed, step, count);
}

/// <summary>Settings of <see cref="PCGrad"/> (configuration <c>loss:pcgrad</c>).</summary>
public sealed class PCGradOptions : LossComposerOptions, ISeededComposerOptions
{
    /// <summary>Seed of the random task orders of the projections; configured training uses the run's seed when it is not set.</summary>
    public int Seed { get; set; }
}
