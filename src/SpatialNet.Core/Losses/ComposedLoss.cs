using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// The result of composing one batch's task losses: the objective to differentiate, and — for
/// every step's report — each task's loss and weight and each penalty (such as the L2 term) as numbers.
/// </summary>
/// <remarks>
/// The numbers (<see cref="TaskLosses"/>, <see cref="Weights"/>, <see cref="Penalties"/>,
/// <see cref="TotalValue"/>) are read from the device together, once, on first access — so a step
/// that does not log them costs no device synchronisation. Read them before the dispose scope that
/// owns the step's tensors ends. Call <see cref="Backward"/>, not <c>Total.backward()</c>:
/// gradient strategies override it.
/// </remarks>
public class ComposedLoss
{
    private readonly Dictionary<string, Tensor> taskLossTensors;
    private readonly Dictionary<string, double>? constantWeights;
    private readonly Dictionary<string, Tensor>? weightTensors;
    private readonly Dictionary<string, Tensor> penaltyTensors = new(StringComparer.Ordinal);
    private Values? values;
    private Dictionary<string, double>? reportedWeights;

    /// <summary>A composed loss whose weights are plain numbers.</summary>
    /// <param name="total">The objective, a 0-dim tensor with its graph.</param>
    /// <param name="taskLosses">Each present task's unweighted loss.</param>
    /// <param name="weights">Each present task's weight.</param>
    public ComposedLoss(Tensor total, IReadOnlyDictionary<string, Tensor> taskLosses, IReadOnlyDictionary<string, double> weights)
        : this(total, taskLosses)
    {
        ArgumentNullException.ThrowIfNull(weights);
        constantWeights = new Dictionary<string, double>(weights, StringComparer.Ordinal);
        RequireSameTasks(weights.Keys);
    }

    /// <summary>A composed loss whose weights are tensors (learned or computed on the device).</summary>
    /// <param name="total">The objective, a 0-dim tensor with its graph.</param>
    /// <param name="taskLosses">Each present task's unweighted loss.</param>
    /// <param name="weights">Each present task's weight as a 0-dim tensor (detached for reporting).</param>
    public ComposedLoss(Tensor total, IReadOnlyDictionary<string, Tensor> taskLosses, IReadOnlyDictionary<string, Tensor> weights)
        : this(total, taskLosses)
    {
        ArgumentNullException.ThrowIfNull(weights);
        weightTensors = new Dictionary<string, Tensor>(weights, StringComparer.Ordinal);
        RequireSameTasks(weights.Keys);
    }

    private ComposedLoss(Tensor total, IReadOnlyDictionary<string, Tensor> taskLosses)
    {
        ArgumentNullException.ThrowIfNull(total);
        ArgumentNullException.ThrowIfNull(taskLosses);
        Total = total;
        taskLossTensors = new Dictionary<string, Tensor>(taskLosses, StringComparer.Ordinal);
    }

    /// <summary>The objective: composed task losses plus penalties. Differentiate it through <see cref="Backward"/>.</summary>
    public Tensor Total { get; private set; }

    /// <summary>The penalties added with <see cref="AddPenalty"/> (tensors with their graphs), by name.</summary>
    protected IReadOnlyDictionary<string, Tensor> PenaltyTensors => penaltyTensors;

    /// <summary>Each present task's unweighted loss tensor (with its graph), in composition order.</summary>
    public IReadOnlyDictionary<string, Tensor> TaskLossTensors => taskLossTensors;

    /// <summary>Names of the tasks in this step, in composition order.</summary>
    public IReadOnlyCollection<string> Tasks => taskLossTensors.Keys;

    /// <summary>Each present task's unweighted loss value.</summary>
    public IReadOnlyDictionary<string, double> TaskLosses => Materialise().TaskLosses;

    /// <summary>Each present task's effective weight (the factor on its loss in <see cref="Total"/>).</summary>
    public IReadOnlyDictionary<string, double> Weights => constantWeights ?? reportedWeights ?? Materialise().Weights!;

    /// <summary>
    /// Task <paramref name="task"/>'s effective weight as a detached 0-dim float32 tensor on the device of
    /// <see cref="Total"/>, for per-step records that must not wait for the device (reading
    /// <see cref="Weights"/> of learned weights copies them to the host). New tensors join the current dispose scope.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The task is not part of this loss.</exception>
    public Tensor WeightTensor(string task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (!taskLossTensors.ContainsKey(task))
        {
            throw new KeyNotFoundException($"Task '{task}' is not part of this loss; its tasks: {string.Join(", ", taskLossTensors.Keys)}.");
        }

        return weightTensors is not null
            ? weightTensors[task].detach().to(ScalarType.Float32).to(Total.device)
            // A fill kernel on the loss's device: no host-to-device copy, so no synchronisation.
            : full(Array.Empty<long>(), constantWeights![task], ScalarType.Float32, Total.device);
    }

    /// <summary>Each penalty's value (e.g. <c>"l2"</c>), as added to <see cref="Total"/>.</summary>
    public IReadOnlyDictionary<string, double> Penalties => Materialise().Penalties;

    /// <summary>Value of <see cref="Total"/>.</summary>
    public double TotalValue => Materialise().Total;

    /// <summary>
    /// Adds a penalty (a 0-dim tensor with its graph, e.g. the L2 term of Eq. 10–11) to
    /// <see cref="Total"/> and to the report under <paramref name="name"/>.
    /// </summary>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException">The name is empty or already used, or the penalty is not 0-dim.</exception>
    public ComposedLoss AddPenalty(string name, Tensor penalty)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(penalty);
        if (penalty.dim() != 0)
        {
            throw new ArgumentException($"Penalty '{name}' must be a 0-dim tensor; got [{string.Join(", ", penalty.shape)}].", nameof(penalty));
        }

        if (!penaltyTensors.TryAdd(name, penalty))
        {
            throw new ArgumentException($"Penalty '{name}' was already added to this loss.", nameof(name));
        }

        Total = Total + penalty;
        values = null;
        return this;
    }

    /// <summary>
    /// Replaces the reported weights in place (the tensors <see cref="WeightTensor"/> returned included),
    /// for gradient strategies whose combination weights are known only in <see cref="Backward"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The loss was created with constant weights.</exception>
    protected void ReportWeights(IReadOnlyDictionary<string, double> applied)
    {
        ArgumentNullException.ThrowIfNull(applied);
        if (weightTensors is null)
            throw new InvalidOperationException("Only a loss created with weight tensors can report new weights.");
        using (no_grad())
        {
            foreach (var (task, weight) in applied)
                weightTensors[task].fill_(weight);
        }

        reportedWeights = new Dictionary<string, double>(applied, StringComparer.Ordinal);
        values = null;
    }

    /// <summary>Computes gradients of the objective. The default is <c>Total.backward()</c>.</summary>
    public virtual void Backward() => Total.backward();

    /// <summary>One line for logs: total, then each task's loss and weight, then penalties.</summary>
    public override string ToString()
    {
        var v = Materialise();
        var weights = Weights;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"total={v.Total:G6}");
        foreach (var (task, loss) in v.TaskLosses)
        {
            text.Append(CultureInfo.InvariantCulture, $" {task}={loss:G6}(w={weights[task]:G4})");
        }

        foreach (var (name, value) in v.Penalties)
        {
            text.Append(CultureInfo.InvariantCulture, $" {name}={value:G6}");
        }

        return text.ToString();
    }

    private void RequireSameTasks(IEnumerable<string> weightTasks)
    {
        var a = new HashSet<string>(taskLossTensors.Keys, StringComparer.Ordinal);
        if (!a.SetEquals(weightTasks))
        {
            throw new ArgumentException(
                $"Weights must name exactly the tasks with losses ({string.Join(", ", taskLossTensors.Keys)}); got {string.Join(", ", weightTasks)}.",
                "weights");
        }
    }

    // Reads every reported number with one device-to-host copy.
    private Values Materialise()
    {
        if (values is not null)
        {
            return values;
        }

        var tasks = taskLossTensors.Keys.ToArray();
        var penalties = penaltyTensors.Keys.ToArray();
        double[] numbers;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var device = Total.device;
            Tensor Flat(Tensor t) => t.detach().to(float64).to(device).reshape(1);
            var parts = new List<Tensor> { Flat(Total) };
            parts.AddRange(tasks.Select(t => Flat(taskLossTensors[t])));
            if (weightTensors is not null)
            {
                parts.AddRange(tasks.Select(t => Flat(weightTensors[t])));
            }

            parts.AddRange(penalties.Select(p => Flat(penaltyTensors[p])));
            numbers = cat(parts, 0).cpu().data<double>().ToArray();
        }

        int i = 1;
        var losses = tasks.ToDictionary(t => t, _ => numbers[i++], StringComparer.Ordinal);
        var weights = weightTensors is null ? null : tasks.ToDictionary(t => t, _ => numbers[i++], StringComparer.Ordinal);
        var penaltyValues = penalties.ToDictionary(p => p, _ => numbers[i++], StringComparer.Ordinal);
        values = new Values(numbers[0], losses, weights, penaltyValues);
        return values;
    }

    private sealed record Values(
        double Total,
        IReadOnlyDictionary<string, double> TaskLosses,
        IReadOnlyDictionary<string, double>? Weights,
        IReadOnlyDictionary<string, double> Penalties);
}
