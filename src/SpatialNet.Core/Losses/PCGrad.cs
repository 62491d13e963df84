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
/// In <see cref="ComposedLoss.Backward"/>: g_t = ∇_θ(λ_t·L_t) for each present task t over the
/// shared parameters θ (<see cref="LossContext.SharedParameters"/>, the encoder's). For each t, in
/// a random order of the other tasks j: if g_t^PC·g_j &lt; 0 then
/// g_t^PC ← g_t^PC − (g_t^PC·g_j / ‖g_j‖²)·g_j (projection onto the normal plane of g_j). The shared
/// gradient becomes Σ_t g_t^PC. Task-specific parameters (heads) and penalties added with
/// <see cref="ComposedLoss.AddPenalty"/> get their ordinary gradients.
/// </para>
/// <para>
/// Cost: one extra backward pass over the shared parameters per task in the batch, and T vectors
/// of the shared parameters' size. The projection is computed without host synchronisation
/// (a non-conflicting pair gets a zero coefficient). With one task it equals the weighted sum.
/// </para>
/// </remarks>
public sealed class PCGrad : ILossComposer
{
    private readonly Dictionary<string, double> weights;
    private readonly Random random;

    /// <summary>Every task weighted 1; <paramref name="seed"/> fixes the projection order.</summary>
    public PCGrad(int seed = 0) : this(new Dictionary<string, double>(), seed)
    {
    }

    /// <summary>Task weights λ_t from <paramref name="tasks"/>; <paramref name="seed"/> fixes the projection order.</summary>
    [ActivatorUtilitiesConstructor]
    public PCGrad(TaskCatalog tasks, int seed = 0)
        : this((tasks ?? throw new ArgumentNullException(nameof(tasks))).ToDictionary(t => t.Name, t => t.LossWeight), seed)
    {
    }

    /// <summary>Explicit task weights λ_t (others 1); <paramref name="seed"/> fixes the projection order.</summary>
    public PCGrad(IReadOnlyDictionary<string, double> weights, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(weights);
        this.weights = weights.ToDictionary(kv => kv.Key, kv => LossChecks.RequireWeight(kv.Key, kv.Value), StringComparer.Ordinal);
        random = new Random(seed);
    }

    /// <inheritdoc />
    public string Name => "pcgrad";

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
        // Yu et al. project each task against the others in a random order.
        int count = taskLosses.Count;
        var orders = new int[count][];
        for (int t = 0; t < count; t++)
        {
            orders[t] = Enumerable.Range(0, count).Where(j => j != t).ToArray();
            random.Shuffle(orders[t]);
        }

        return new Loss(WeightedSum.Sum(taskLosses, used), taskLosses, used, shared, orders);
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
            Tensor delta;
            using (var scope = NewDisposeScope())
            {
                var grads = new Tensor[tasks.Length];
                for (int t = 0; t < tasks.Length; t++)
                {
                    var weighted = TaskLossTensors[tasks[t]] * Weights[tasks[t]];
                    var parts = autograd.grad([weighted], shared, retain_graph: true, allow_unused: true);
                    grads[t] = cat(parts.Select((g, k) => g is null || g.IsInvalid
                        ? zeros(shared[k].numel(), dtype: shared[k].dtype, device: shared[k].device)
                        : g.reshape(-1)).ToArray(), 0);
                }

                var projected = Project(grads, orders);
                // Total.backward() below adds the plain sum Σ g_t; this correction replaces it by Σ g_t^PC.
                delta = (stack(projected).sum(dim: 0) - stack(grads).sum(dim: 0)).MoveToOuterDisposeScope();
            }

            using (delta)
            {
                Total.backward();
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                long offset = 0;
                foreach (var p in shared)
                {
                    long n = p.numel();
                    var part = delta.narrow(0, offset, n).view_as(p);
                    offset += n;
                    if (p.grad is { } grad)
                    {
                        grad.add_(part);
                    }
                }
            }
        }
    }
}
