using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Heads;
using TorchSharp;
using TorchSharp.Modules;
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
/// g_t = ∇(λ_t·L_t). On the shared parameters
/// (<see cref="LossContext.SharedParameters"/>), for each t in the order <see cref="Orders"/> draws
/// from (seed, step): if g_t^PC·g_j &lt; 0 then g_t^PC ← g_t^PC − (g_t^PC·g_j / ‖g_j‖²)·g_j. The shared
/// gradient becomes Σ_t g_t^PC, computed in float32 whatever the parameters' dtype; task-specific
/// parameters get Σ_t g_t; penalties (<see cref="ComposedLoss.AddPenalty"/>) their own gradients.
/// </para>
/// <para>
/// The order depends only on the seed and <see cref="LossContext.Step"/>, so a run resumed from a
/// checkpoint projects exactly as the uninterrupted one. With one task it equals the weighted sum.
/// </para>
/// </remarks>
public sealed class PCGrad : ILossComposer
{
    private readonly Dictionary<string, double> weights;
    private readonly int seed;

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
        this.weights = weights.ToDictionary(kv => kv.Key, kv => LossChecks.RequireWeight(kv.Key, kv.Value), StringComparer.Ordinal);
        this.seed = seed;
    }

    /// <inheritdoc />
    public string Name => "pcgrad";

    /// <summary>The seed of the projection orders.</summary>
    public int Seed => seed;

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, nameof(PCGrad));
        ArgumentNullException.ThrowIfNull(context);
        var shared = context.SharedParameters?.Where(p => p.requires_grad).ToArray() ?? [];
        if (shared.Length == 0)
        {
            throw new ArgumentException(
                "PCGrad needs LossContext.SharedParameters: the trainable parameters every task shares (the encoder's).", nameof(context));
        }

        var used = taskLosses.Keys.ToDictionary(t => t, t => weights.TryGetValue(t, out var w) ? w : 1.0, StringComparer.Ordinal);
        return new Loss(WeightedSum.Sum(taskLosses, used), taskLosses, used, shared, Orders(seed, context.Step, taskLosses.Count));
    }

    /// <summary>
    /// The projection orders of step <paramref name="step"/>: for each of <paramref name="count"/>
    /// tasks, the other tasks in a uniformly random order (Fisher–Yates driven by SplitMix64 of
    /// (seed, step, task)), the same on every run and after every resume.
    /// </summary>
    internal static int[][] Orders(int seed, long step, int count)
    {
        var orders = new int[count][];
        for (int t = 0; t < count; t++)
        {
            ulong state = unchecked(((ulong)(uint)seed << 32) ^ (ulong)step * 0x9E3779B97F4A7C15UL ^ (ulong)t * 0xD1B54A32D192ED03UL);
            var order = Enumerable.Range(0, count).Where(j => j != t).ToArray();
            for (int i = order.Length - 1; i > 0; i--)
            {
                int k = (int)(SplitMix64(ref state) % (ulong)(i + 1));
                (order[i], order[k]) = (order[k], order[i]);
            }

            orders[t] = order;
        }

        return orders;
    }

    private static ulong SplitMix64(ref ulong state)
    {
        unchecked
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>
    /// PCGrad's projection of flat task gradients <paramref name="grads"/> [T × P]: returns the
    /// projected gradients in the same order. <paramref name="orders"/>[t] lists the other tasks in
    /// the order t is projected against them.
    /// </summary>
    internal static Tensor[] Project(IReadOnlyList<Tensor> grads, IReadOnlyList<IReadOnlyList<int>> orders)
    {
        var projected = new Tensor[grads.Count];
        var squaredNorms = grads.Select(g => g.dot(g).clamp_min(1e-20)).ToArray();
        for (int t = 0; t < grads.Count; t++)
        {
            var g = grads[t].clone();
            foreach (int j in orders[t])
            {
                // min(g·g_j, 0)/‖g_j‖²: zero when the gradients do not conflict, so no branch on the host.
                var coefficient = g.dot(grads[j]).clamp_max(0.0) / squaredNorms[j];
                g = g - coefficient * grads[j];
            }

            projected[t] = g;
        }

        return projected;
    }

    private sealed class Loss(
        Tensor total,
        IReadOnlyDictionary<string, Tensor> taskLosses,
        IReadOnlyDictionary<string, double> weights,
        Parameter[] shared,
        int[][] orders) : ComposedLoss(total, taskLosses, weights)
    {
        public override void Backward()
        {
            var tasks = TaskLossTensors.Keys.ToArray();
            var penalties = PenaltyTensors.Values.ToArray();
            using (var scope = NewDisposeScope())
            {
                // What the shared gradients held before (normally zeros), kept aside while each task's
                // backward pass writes g_t alone into them; task-specific gradients accumulate as usual.
                Tensor?[] before;
                using (no_grad())
                {
                    before = shared.Select(p => p.grad is { } g ? g.clone() : null).ToArray();
                }

                var grads = new Tensor[tasks.Length];
                for (int t = 0; t < tasks.Length; t++)
                {
                    using (no_grad())
                    {
                        foreach (var p in shared)
                            p.grad?.zero_();
                    }

                    var weighted = TaskLossTensors[tasks[t]] * Weights[tasks[t]];
                    weighted.backward(retain_graph: t < tasks.Length - 1 || penalties.Length > 0);
                    using (no_grad())
                    {
                        // A copy (cat of one tensor and to() of a float32 one may alias the gradient zeroed next).
                        grads[t] = cat(shared.Select(p => p.grad is { } g
                            ? g.reshape(-1).to(ScalarType.Float32)
                            : zeros(p.numel(), dtype: ScalarType.Float32, device: p.device)).ToArray(), 0).clone();
                    }
                }

                // Σ_t g_t^PC in float32, then rounded once to each shared parameter's gradient dtype.
                using (no_grad())
                {
                    var sum = stack(Project(grads, orders)).sum(dim: 0);
                    long offset = 0;
                    for (int k = 0; k < shared.Length; k++)
                    {
                        var p = shared[k];
                        long n = p.numel();
                        var value = sum.narrow(0, offset, n).view_as(p);
                        offset += n;
                        if (before[k] is { } b)
                            value = value + b.to(ScalarType.Float32);
                        if (p.grad is { } g)
                            g.copy_(value);   // in place: the gradient may be a view into a flat buffer
                        else
                            p.grad = value.to(p.dtype);
                    }
                }
            }

            if (penalties.Length > 0)
            {
                using var scope = NewDisposeScope();
                // Penalties (the L2 term) are functions of the parameters alone: a pass over their own small graph.
                penalties.Aggregate((a, b) => a + b).backward();
            }
        }
    }
}

/// <summary>Settings of <see cref="PCGrad"/> (configuration <c>loss:pcgrad</c>).</summary>
public sealed class PCGradOptions : LossComposerOptions
{
    /// <summary>Seed of the random task orders of the projections; configured training uses the run's seed when it is not set.</summary>
    public int Seed { get; set; }
}
