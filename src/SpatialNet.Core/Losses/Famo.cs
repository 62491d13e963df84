using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// FAMO: Liu, Liu, Stone and Liu, "FAMO: Fast Adaptive Multitask Optimization", NeurIPS 2023, as
/// TorchJD v0.17's FAMO scalarizer and LibMTL's FAMO: with z = softmax(ξ) over the present tasks
/// and ℓ_t = L_t − b + 1e-8, the objective is Σ_t (z_t/N)·log ℓ_t, N = Σ_t z_t/ℓ_t held constant,
/// so the reported weight of L_t is z_t/(N·ℓ_t).
/// </summary>
/// <remarks>
/// After the optimizer step the losses of the same batch are recomputed (<see cref="NeedsLossesAfterStep"/>);
/// with δ_t = log ℓ_t(before) − log ℓ_t(after) the logits' gradient is the softmax product
/// z ⊙ (δ − z·δ), and FAMO's own Adam (β = (0.9, 0.999), ε = 1e-8, L2 weight decay, as
/// torch.optim.Adam) steps ξ with <c>lr</c> and <c>weight_decay</c>. ξ and the Adam moments are
/// per task (a task absent from a batch is not stepped) and checkpointed.
/// </remarks>
internal sealed class Famo : ILossComposer
{
    private const double Beta1 = 0.9, Beta2 = 0.999, AdamEpsilon = 1e-8, Shift = 1e-8;
    private readonly Dictionary<string, Slot> slots = new(StringComparer.Ordinal);
    private string[]? lastTasks;
    private Tensor? lastLosses;
    private double[]? lastWeights;

    /// <summary>Options <c>lr</c> (0.025), <c>weight_decay</c> (1e-3) and <c>min_losses</c> (0, the bound b of every task).</summary>
    public Famo(double lr = 0.025, double weightDecay = 1e-3, double minLosses = 0)
    {
        if (!(lr > 0) || !double.IsFinite(lr))
            throw new ArgumentOutOfRangeException(nameof(lr), lr, $"loss:famo:lr must be a finite number > 0; got {lr}.");
        if (!(weightDecay >= 0) || !double.IsFinite(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"loss:famo:weight_decay must be a finite number >= 0; got {weightDecay}.");
        if (!double.IsFinite(minLosses))
            throw new ArgumentOutOfRangeException(nameof(minLosses), minLosses, $"loss:famo:min_losses must be a finite number; got {minLosses}.");
        Lr = lr;
        WeightDecay = weightDecay;
        MinLosses = minLosses;
    }

    /// <inheritdoc />
    public string Name => "famo";

    /// <summary>Learning rate of the logits' Adam.</summary>
    public double Lr { get; }

    /// <summary>L2 weight decay of the logits' Adam.</summary>
    public double WeightDecay { get; }

    /// <summary>The lower bound b of every loss.</summary>
    public double MinLosses { get; }

    /// <inheritdoc />
    public bool NeedsLossesAfterStep => true;

    /// <summary>The logit ξ of <paramref name="task"/> (0 before its first update).</summary>
    public double Logit(string task) => slots.TryGetValue(task, out var s) ? s.Logit : 0;

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, Name);
        var tasks = taskLosses.Keys.ToArray();
        var z = Softmax(tasks.Select(Logit).ToArray());
        var losses = stack(tasks.Select(t => taskLosses[t]).ToArray());
        var shifted = losses - MinLosses + Shift;
        var zTensor = tensor(z, dtype: losses.dtype, device: losses.device);
        var normaliser = (zTensor / shifted.detach()).sum();
        var total = (zTensor / normaliser * shifted.log()).sum();
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (no_grad())
        {
            var derivative = zTensor / normaliser / shifted.detach();
            for (int i = 0; i < tasks.Length; i++)
                weights[tasks[i]] = derivative[i];
        }

        lastLosses?.Dispose();
        lastLosses = losses.detach().clone().DetachFromDisposeScope();
        lastTasks = tasks;
        lastWeights = z;
        return new ComposedLoss(total, taskLosses, weights);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">No <see cref="Compose"/> came before.</exception>
    public void AfterOptimizerStep(IReadOnlyDictionary<string, Tensor> lossesAfterStep)
    {
        ArgumentNullException.ThrowIfNull(lossesAfterStep);
        if (lastTasks is null || lastLosses is null || lastWeights is null)
            throw new InvalidOperationException("FAMO's update needs the losses of the step before it: call Compose first.");
        var missing = lastTasks.Where(t => !lossesAfterStep.ContainsKey(t)).ToArray();
        if (missing.Length > 0)
            throw new ArgumentException($"FAMO needs the recomputed losses of {string.Join(", ", missing)}.", nameof(lossesAfterStep));
        double[] before, after;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            before = lastLosses.to(ScalarType.Float64).cpu().data<double>().ToArray();
            after = stack(lastTasks.Select(t => lossesAfterStep[t].detach().to(ScalarType.Float64).cpu().reshape(1)).ToArray()).reshape(-1).data<double>().ToArray();
        }

        Update(lastTasks, lastWeights, before, after);
    }

    /// <summary>One logit update from the losses before and after a step (host form of <see cref="AfterOptimizerStep"/>).</summary>
    public void Update(IReadOnlyList<string> tasks, double[] z, double[] before, double[] after)
    {
        var delta = before.Select((b, i) => Math.Log(b - MinLosses + Shift) - Math.Log(after[i] - MinLosses + Shift)).ToArray();
        double mean = z.Select((w, i) => w * delta[i]).Sum();
        for (int i = 0; i < tasks.Count; i++)
        {
            var slot = slots.TryGetValue(tasks[i], out var s) ? s : new Slot();
            double gradient = z[i] * (delta[i] - mean) + WeightDecay * slot.Logit;
            slot.Steps++;
            slot.First = Beta1 * slot.First + (1 - Beta1) * gradient;
            slot.Second = Beta2 * slot.Second + (1 - Beta2) * gradient * gradient;
            double firstHat = slot.First / (1 - Math.Pow(Beta1, slot.Steps));
            double secondHat = slot.Second / (1 - Math.Pow(Beta2, slot.Steps));
            slot.Logit -= Lr * firstHat / (Math.Sqrt(secondHat) + AdamEpsilon);
            slots[tasks[i]] = slot;
        }
    }

    private static double[] Softmax(double[] x)
    {
        double max = x.Max();
        var e = x.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double[]> SaveState() =>
        slots.ToDictionary(kv => "famo:" + kv.Key, kv => new[] { kv.Value.Logit, kv.Value.First, kv.Value.Second, kv.Value.Steps }, StringComparer.Ordinal);

    /// <inheritdoc />
    public void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        slots.Clear();
        foreach (var (key, v) in state)
        {
            if (key.StartsWith("famo:", StringComparison.Ordinal) && v.Length == 4)
                slots[key["famo:".Length..]] = new Slot { Logit = v[0], First = v[1], Second = v[2], Steps = (long)v[3] };
        }
    }

    private struct Slot
    {
        public double Logit;
        public double First;
        public double Second;
        public long Steps;
    }
}

/// <summary>Settings of <see cref="Famo"/> (configuration <c>loss:famo</c>).</summary>
internal sealed class FamoOptions : LossComposerOptions
{
    /// <summary>Learning rate of the logits' Adam; > 0. Default 0.025.</summary>
    public double Lr { get; set; } = 0.025;
    /// <summary>L2 weight decay of the logits' Adam; ≥ 0. Default 1e-3.</summary>
    public double WeightDecay { get; set; } = 1e-3;
    /// <summary>Lower bound b of every loss. Default 0.</summary>
    public double MinLosses { get; set; } = 0;

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!(Lr > 0) || !double.IsFinite(Lr))
            errors.Add(Message(nameof(Lr), Lr, "a finite number > 0"));
        NonNegative(errors, nameof(WeightDecay), WeightDecay);
        if (!double.IsFinite(MinLosses))
            errors.Add(Message(nameof(MinLosses), MinLosses, "a finite number"));
    }

    private static void NonNegative(ICollection<string> errors, string option, double value)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            errors.Add(Message(option, value, "a finite number >= 0"));
    }
}
