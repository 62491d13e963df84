using System.Globalization;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// Dynamic Weight Average: Liu, Johns and Davison, "End-to-End Multi-Task Learning with Attention",
/// CVPR 2019. A task whose loss fell more slowly over the last epoch gets more weight in the next.
/// </summary>
/// <remarks>
/// <para>
/// With L̄_k(e) the average loss of task k over epoch e, r_k = L̄_k(e−1)/L̄_k(e−2) and temperature T
/// (default 2, as in the paper), the weights during epoch e are
/// λ_k(e) = K·exp(r_k/T) / Σ_i exp(r_i/T), so they sum to K. In the first two epochs every λ_k = 1.
/// L_MTL = Σ_k λ_k·L_k over the tasks in the batch.
/// </para>
/// <para>
/// Several datasets: K and the softmax run over the tasks that have two finished epochs of
/// history; a task without it (new, or never seen in two epochs) weighs 1. Epoch averages are
/// accumulated on the device from every <see cref="Compose"/> call and read once in
/// <see cref="OnEpochEnd"/>, which the trainer must call after every epoch. A ratio with a
/// non-positive denominator counts as 1.
/// </para>
/// </remarks>
public sealed class DynamicWeightAverage : ILossComposer
{
    private const string HistoryPrefix = "history.";
    private const string RunningPrefix = "running.";

    // Finished-epoch averages per task, oldest first, at most two kept.
    private readonly Dictionary<string, List<double>> history = new(StringComparer.Ordinal);
    // Detached running sums of this epoch, on the losses' device, and their counts.
    private readonly Dictionary<string, (Tensor Sum, long Count)> running = new(StringComparer.Ordinal);
    private Dictionary<string, double> weights = new(StringComparer.Ordinal);

    /// <summary>Creates the strategy with temperature <paramref name="temperature"/>.</summary>
    /// <param name="temperature">Softmax temperature T &gt; 0; the paper uses 2. Larger T gives more even weights.</param>
    /// <exception cref="ArgumentOutOfRangeException">T not a positive finite number.</exception>
    public DynamicWeightAverage(double temperature = 2.0)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "DWA temperature T must be a finite number > 0 (the paper uses 2).");
        }

        Temperature = temperature;
    }

    /// <inheritdoc />
    public string Name => "dwa";

    /// <summary>Softmax temperature T.</summary>
    public double Temperature { get; }

    /// <summary>Number of epochs finished (calls to <see cref="OnEpochEnd"/>).</summary>
    public int EpochsFinished { get; private set; }

    /// <summary>Weight of <paramref name="task"/> during the current epoch.</summary>
    public double WeightOf(string task) => weights.TryGetValue(task, out var w) ? w : 1.0;

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, nameof(DynamicWeightAverage));
        Accumulate(taskLosses);
        var used = taskLosses.Keys.ToDictionary(t => t, WeightOf, StringComparer.Ordinal);
        return new ComposedLoss(WeightedSum.Sum(taskLosses, used), taskLosses, used);
    }

    /// <summary>Closes the epoch: stores each task's average loss and computes the next epoch's weights.</summary>
    public void OnEpochEnd()
    {
        foreach (var (task, (sum, count)) in running)
        {
            double average = Read(sum) / count;
            sum.Dispose();
            if (!history.TryGetValue(task, out var list))
            {
                history[task] = list = [];
            }

            list.Add(average);
            if (list.Count > 2)
            {
                list.RemoveAt(0);
            }
        }

        running.Clear();
        EpochsFinished++;
        weights = ComputeWeights();
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double[]> SaveState()
    {
        var state = new Dictionary<string, double[]>(StringComparer.Ordinal)
        {
            ["epochs_finished"] = [EpochsFinished],
        };
        foreach (var (task, list) in history)
        {
            state[HistoryPrefix + task] = [.. list];
        }

        foreach (var (task, (sum, count)) in running)
        {
            state[RunningPrefix + task] = [Read(sum), count];
        }

        return state;
    }

    /// <inheritdoc />
    public void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var (sum, _) in running.Values)
        {
            sum.Dispose();
        }

        running.Clear();
        history.Clear();
        EpochsFinished = state.TryGetValue("epochs_finished", out var e) && e.Length == 1 ? (int)e[0] : 0;
        foreach (var (key, value) in state)
        {
            if (key.StartsWith(HistoryPrefix, StringComparison.Ordinal))
            {
                history[key[HistoryPrefix.Length..]] = [.. value.TakeLast(2)];
            }
            else if (key.StartsWith(RunningPrefix, StringComparison.Ordinal))
            {
                if (value.Length != 2)
                {
                    throw new ArgumentException($"DWA state '{key}' must hold [sum, count]; got {value.Length} values.", nameof(state));
                }

                var sum = tensor(value[0], float64);
                sum.DetachFromDisposeScope();
                running[key[RunningPrefix.Length..]] = (sum, (long)value[1]);
            }
        }

        weights = ComputeWeights();
    }

    /// <summary>The current weights, one line for logs.</summary>
    public override string ToString() =>
        "dwa(T=" + Temperature.ToString(CultureInfo.InvariantCulture) + "): " +
        string.Join(", ", weights.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value:G4}")));

    // The conversions make tensors of their own; the scope disposes them.
    private static double Read(Tensor sum)
    {
        using var scope = NewDisposeScope();
        return sum.to(float64).cpu().item<double>();
    }

    private void Accumulate(IReadOnlyDictionary<string, Tensor> taskLosses)
    {
        using var noGrad = no_grad();
        foreach (var (task, loss) in taskLosses)
        {
            if (running.TryGetValue(task, out var acc))
            {
                if (acc.Sum.device_type != loss.device_type || acc.Sum.device_index != loss.device_index)
                {
                    var moved = acc.Sum.to(loss.device);
                    moved.DetachFromDisposeScope();
                    acc.Sum.Dispose();
                    acc = (moved, acc.Count);
                }

                // In place: no tensor is created per step that could outlive the step's scope.
                using var value = loss.detach();
                acc.Sum.add_(value);
                running[task] = (acc.Sum, acc.Count + 1);
            }
            else
            {
                var sum = loss.detach().to(float64).clone();
                // The sum lives across steps; it must not die with the step's dispose scope.
                sum.DetachFromDisposeScope();
                running[task] = (sum, 1);
            }
        }
    }

    private Dictionary<string, double> ComputeWeights()
    {
        var ratios = history
            .Where(kv => kv.Value.Count == 2)
            .ToDictionary(kv => kv.Key, kv => kv.Value[0] > 0 ? kv.Value[1] / kv.Value[0] : 1.0, StringComparer.Ordinal);
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (ratios.Count == 0)
        {
            return result;
        }

        // Softmax with the maximum subtracted: same value, no overflow for large ratios.
        double max = ratios.Values.Max(r => r / Temperature);
        var exp = ratios.ToDictionary(kv => kv.Key, kv => Math.Exp(kv.Value / Temperature - max), StringComparer.Ordinal);
        double denominator = exp.Values.Sum();
        foreach (var (task, e) in exp)
        {
            result[task] = ratios.Count * e / denominator;
        }

        return result;
    }
}

/// <summary>Settings of <see cref="DynamicWeightAverage"/> (configuration <c>loss:dwa</c>).</summary>
public sealed class DynamicWeightAverageOptions : LossComposerOptions
{
    /// <summary>Softmax temperature T (Liu et al. 2019, Eq. 1); finite and &gt; 0. Default 2 (the paper).</summary>
    public double Temperature { get; set; } = 2.0;

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!(Temperature > 0) || double.IsInfinity(Temperature))
            errors.Add(Message(nameof(Temperature), Temperature, "a finite number > 0 (the paper uses 2)"));
    }
}
