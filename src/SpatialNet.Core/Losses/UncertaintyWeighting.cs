using SpatialNet.Heads;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// Homoscedastic-uncertainty weighting: Kendall, Gal and Cipolla, "Multi-Task Learning Using
/// Uncertainty to Weigh Losses for Scene Geometry and Semantics", CVPR 2018. Each task t has a
/// learnable log-variance s_t = log σ_t² (parameter <c>log_vars</c>, initialised to 0, i.e. σ = 1, unless configured).
/// </summary>
/// <remarks>
/// <para>Forms, following the paper's derivation (its Eq. 7 and Eq. 10), written in s_t so training stays stable:</para>
/// <list type="bullet">
/// <item><description><b>Regression</b> (Gaussian likelihood): 1/(2σ²)·L_t + log σ = ½·e^(−s_t)·L_t + ½·s_t.</description></item>
/// <item><description><b>Classification and every other kind</b> (softmax/Bernoulli likelihood with temperature
/// σ², the paper's approximation): 1/σ²·L_t + log σ = e^(−s_t)·L_t + ½·s_t.</description></item>
/// </list>
/// <para>
/// The reported weight of a task is its factor on L_t (½·e^(−s_t) or e^(−s_t)). Only tasks present in
/// the batch contribute, including their ½·s_t term. The parameters must be optimised with the
/// model: pass <see cref="AsModule"/>'s parameters to the optimizer and move it to the model's device.
/// </para>
/// </remarks>
public sealed class UncertaintyWeighting : nn.Module, ILossComposer
{
    private readonly Parameter log_vars;
    private readonly Dictionary<string, int> index;
    private readonly double[] factors;

    /// <summary>Creates one log-variance per task of <paramref name="tasks"/>, each starting at 0 (σ = 1).</summary>
    /// <exception cref="ArgumentException">No tasks.</exception>
    public UncertaintyWeighting(TaskCatalog tasks) : this(tasks, 0.0)
    {
    }

    /// <summary>
    /// Creates one log-variance per task of <paramref name="tasks"/>, each starting at
    /// <paramref name="initialLogVariance"/> (option <c>initial_log_variance</c>; TorchJD starts at 0, LibMTL at −0.5).
    /// </summary>
    /// <exception cref="ArgumentException">No tasks.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A non-finite initial value.</exception>
    public UncertaintyWeighting(TaskCatalog tasks, double initialLogVariance) : base(nameof(UncertaintyWeighting))
    {
        if (!double.IsFinite(initialLogVariance))
            throw new ArgumentOutOfRangeException(nameof(initialLogVariance), initialLogVariance, $"loss:uncertainty:initial_log_variance must be a finite number; got {initialLogVariance}.");
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Count == 0)
        {
            throw new ArgumentException("UncertaintyWeighting needs at least one task.", nameof(tasks));
        }

        Tasks = tasks;
        index = tasks.Select((t, i) => (t.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        factors = tasks.Select(t => t.Kind == TaskKind.Regression ? 0.5 : 1.0).ToArray();
        log_vars = nn.Parameter(full(tasks.Count, initialLogVariance, ScalarType.Float32));
        RegisterComponents();
    }

    /// <inheritdoc />
    public string Name => "uncertainty";

    /// <summary>Tasks, in the order of <c>log_vars</c>.</summary>
    public TaskCatalog Tasks { get; }

    /// <summary>The learnable log-variances s_t = log σ_t², one per task.</summary>
    public Parameter LogVariances => log_vars;

    /// <inheritdoc />
    public nn.Module? AsModule() => this;

    /// <summary>The log-variances of the tasks a batch does not carry (elements of <c>log_vars</c>).</summary>
    public IReadOnlyDictionary<string, long[]?> UnusedParameters(IReadOnlyCollection<string> presentTasks)
    {
        ArgumentNullException.ThrowIfNull(presentTasks);
        var absent = index.Where(kv => !presentTasks.Contains(kv.Key)).Select(kv => (long)kv.Value).Order().ToArray();
        return absent.Length == 0 ? new Dictionary<string, long[]?>() : new Dictionary<string, long[]?> { ["log_vars"] = absent };
    }

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, nameof(UncertaintyWeighting));
        Tensor? total = null;
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (task, loss) in taskLosses)
        {
            if (!index.TryGetValue(task, out int i))
            {
                throw new KeyNotFoundException(
                    $"UncertaintyWeighting has no log-variance for task '{task}'; it was built for: {string.Join(", ", Tasks.Names)}.");
            }

            if (loss.device_type != log_vars.device_type || loss.device_index != log_vars.device_index)
            {
                throw new InvalidOperationException(
                    $"UncertaintyWeighting parameters are on {log_vars.device} but the loss of task '{task}' is on {loss.device}; " +
                    "move the composer (AsModule().to(device)) before creating the optimizer.");
            }

            var s = log_vars[i];
            var weight = (-s).exp() * factors[i];
            var term = weight * loss + 0.5 * s;
            total = total is null ? term : total + term;
            weights[task] = weight.detach();
        }

        return new ComposedLoss(total!, taskLosses, weights);
    }
}

/// <summary>Settings of <see cref="UncertaintyWeighting"/> (configuration <c>loss:uncertainty</c>).</summary>
internal sealed class UncertaintyWeightingOptions : LossComposerOptions
{
    /// <summary>Every log-variance's start; finite. Default 0 (TorchJD; LibMTL starts at −0.5).</summary>
    public double InitialLogVariance { get; set; }

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!double.IsFinite(InitialLogVariance))
            errors.Add(Message(nameof(InitialLogVariance), InitialLogVariance, "a finite number"));
    }
}
