using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Heads;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// The paper's multi-task loss, Eq. (6): L_MTL = Σ_t λ_t·L_t over the tasks present in the batch,
/// with λ_t = 1 unless configured.
/// </summary>
/// <remarks>
/// SpatialNet-ViT (the paper this library implements), Eq. (6). Fixed weights are the baseline every
/// adaptive strategy is compared against; tasks without a configured weight get
/// <see cref="DefaultWeight"/>.
/// </remarks>
public sealed class WeightedSum : ILossComposer
{
    private readonly Dictionary<string, double> weights;

    /// <summary>Every task weighted 1 (the paper's default).</summary>
    public WeightedSum() : this(new Dictionary<string, double>())
    {
    }

    /// <summary>Task weights λ_t from <paramref name="tasks"/> (<see cref="TaskDefinition.LossWeight"/>).</summary>
    [ActivatorUtilitiesConstructor]
    public WeightedSum(TaskCatalog tasks)
        : this((tasks ?? throw new ArgumentNullException(nameof(tasks))).ToDictionary(t => t.Name, t => t.LossWeight))
    {
    }

    /// <summary>Explicit weights λ_t by task name; other tasks get <paramref name="defaultWeight"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative or non-finite weight.</exception>
    public WeightedSum(IReadOnlyDictionary<string, double> weights, double defaultWeight = 1.0)
    {
        ArgumentNullException.ThrowIfNull(weights);
        DefaultWeight = LossChecks.RequireWeight("(default)", defaultWeight);
        this.weights = weights.ToDictionary(kv => kv.Key, kv => LossChecks.RequireWeight(kv.Key, kv.Value), StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public string Name => "weighted_sum";

    /// <summary>Weight of tasks not named in the configured weights.</summary>
    public double DefaultWeight { get; }

    /// <summary>λ_t of <paramref name="task"/>.</summary>
    public double WeightOf(string task) => weights.TryGetValue(task, out var w) ? w : DefaultWeight;

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, nameof(WeightedSum));
        var used = taskLosses.Keys.ToDictionary(t => t, WeightOf, StringComparer.Ordinal);
        return new ComposedLoss(Sum(taskLosses, used), taskLosses, used);
    }

    /// <summary>Σ_t w_t·L_t over the given losses (shared with <see cref="PCGrad"/>).</summary>
    internal static Tensor Sum(IReadOnlyDictionary<string, Tensor> taskLosses, IReadOnlyDictionary<string, double> weights)
    {
        Tensor? total = null;
        foreach (var (task, loss) in taskLosses)
        {
            var term = loss * weights[task];
            total = total is null ? term : total + term;
        }

        return total!;
    }
}
