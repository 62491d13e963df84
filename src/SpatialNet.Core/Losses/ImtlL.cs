using SpatialNet.Heads;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// IMTL-L: Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021, the loss-balancing half:
/// Σ_t e^(s_t)·L_t − s_t with a learnable scale s_t per task (parameter <c>log_scales</c>, from 0), as
/// TorchJD v0.17's IMTLL and LibMTL's IMTL-L. The reported weight is e^(s_t).
/// </summary>
/// <remarks>Optimise <see cref="AsModule"/>'s parameters with the model; only present tasks contribute.</remarks>
internal sealed class ImtlL : nn.Module, ILossComposer
{
    private readonly Parameter log_scales;
    private readonly Dictionary<string, int> index;

    /// <summary>One scale per task of <paramref name="tasks"/>.</summary>
    public ImtlL(TaskCatalog tasks) : base(nameof(ImtlL))
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Count == 0)
            throw new ArgumentException("imtl_l needs at least one task.", nameof(tasks));
        Tasks = tasks;
        index = tasks.Select((t, i) => (t.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        log_scales = nn.Parameter(zeros(tasks.Count));
        RegisterComponents();
    }

    /// <inheritdoc />
    public string Name => "imtl_l";

    /// <summary>Tasks, in the order of <c>log_scales</c>.</summary>
    public TaskCatalog Tasks { get; }

    /// <summary>The learnable scales s_t.</summary>
    public Parameter LogScales => log_scales;

    /// <inheritdoc />
    public nn.Module? AsModule() => this;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, long[]?> UnusedParameters(IReadOnlyCollection<string> presentTasks) =>
        LearnedWeights.Unused(index, presentTasks, "log_scales");

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, Name);
        Tensor? total = null;
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (task, loss) in taskLosses)
        {
            var s = log_scales[LearnedWeights.Slot(index, task, Name, Tasks, log_scales, loss)];
            var weight = s.exp();
            var term = weight * loss - s;
            total = total is null ? term : total + term;
            weights[task] = weight.detach();
        }

        return new ComposedLoss(total!, taskLosses, weights);
    }
}

/// <summary>Shared checks of the composers with one learnable number per task.</summary>
internal static class LearnedWeights
{
    /// <summary>The element of <paramref name="task"/>, after checking it exists and the loss is on the parameter's device.</summary>
    public static long Slot(IReadOnlyDictionary<string, int> index, string task, string composer, TaskCatalog tasks, Tensor parameter, Tensor loss)
    {
        if (!index.TryGetValue(task, out int i))
            throw new KeyNotFoundException($"{composer} has no parameter for task '{task}'; it was built for: {string.Join(", ", tasks.Names)}.");
        if (loss.device_type != parameter.device_type || loss.device_index != parameter.device_index)
        {
            throw new InvalidOperationException(
                $"{composer} parameters are on {parameter.device} but the loss of task '{task}' is on {loss.device}; " +
                "move the composer (AsModule().to(device)) before creating the optimizer.");
        }

        return i;
    }

    /// <summary>The elements of <paramref name="parameter"/> of the tasks a batch does not carry.</summary>
    public static IReadOnlyDictionary<string, long[]?> Unused(IReadOnlyDictionary<string, int> index, IReadOnlyCollection<string> presentTasks, string parameter)
    {
        ArgumentNullException.ThrowIfNull(presentTasks);
        var absent = index.Where(kv => !presentTasks.Contains(kv.Key)).Select(kv => (long)kv.Value).Order().ToArray();
        return absent.Length == 0 ? new Dictionary<string, long[]?>() : new Dictionary<string, long[]?> { [parameter] = absent };
    }
}
