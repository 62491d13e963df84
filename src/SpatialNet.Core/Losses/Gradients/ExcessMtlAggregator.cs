using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// ExcessMTL (He et al., "Robust Multi-Task Learning with Excess Risks", ICML 2024), as TorchJD
/// v0.17's ExcessMTLWeighting: per task the running sum S_t of squared gradients (Eq. 7),
/// the excess-risk proxy e_t = Σ_p g_tp²/√(S_tp + 1e-7) (Eq. 6), divided by its baseline, and the
/// exponentiated step w_t ← w_t·exp(η·e_t), renormalised to sum 1 (Eq. 9); weights start at 1/T.
/// </summary>
/// <remarks>
/// With <c>n_warmup_steps</c> = k &gt; 0 the first k calls return the uniform weights and the baseline is
/// their mean e; with 0 the first call's e is the baseline and is used undivided (the official code's
/// behaviour). Stateful: S (one P-vector per task, on the device), the weights, the baseline and the
/// call count; the host part is checkpointed as numbers, S as tensors (<c>squared_sum.&lt;task&gt;</c>).
/// The exponentiated step runs in log space: where η·e is large (e grows with the parameter count
/// on the first call without warm-up) TorchJD's exp overflows to NaN, here the weights stay finite.
/// </remarks>
internal sealed class ExcessMtlAggregator : GradientAggregator, IDisposable
{
    private readonly Dictionary<string, Tensor> squaredSums = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> weights = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> baseline = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> warmupSum = new(StringComparer.Ordinal);
    private const string SumPrefix = "squared_sum.";
    private long calls;

    /// <summary>Options <c>robust_step_size</c> (1.0) and <c>n_warmup_steps</c> (0).</summary>
    public ExcessMtlAggregator(double robustStepSize = 1.0, int nWarmupSteps = 0)
    {
        RobustStepSize = Require(robustStepSize > 0 && double.IsFinite(robustStepSize), robustStepSize, "excess_mtl", "robust_step_size", "a finite number > 0");
        NWarmupSteps = (int)Require(nWarmupSteps >= 0, nWarmupSteps, "excess_mtl", "n_warmup_steps", "a whole number >= 0");
    }

    /// <summary>Step size η of the exponentiated update.</summary>
    public double RobustStepSize { get; }

    /// <summary>Calls that only collect the baseline.</summary>
    public int NWarmupSteps { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step) =>
        throw new NotSupportedException("ExcessMTL reads the gradients themselves; use Update.");

    /// <inheritdoc />
    public override Tensor Update(Tensor jacobian, GradientStep step, out double[] applied)
    {
        ArgumentNullException.ThrowIfNull(jacobian);
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        double[] excess;
        using (var scope = NewDisposeScope())
        {
            var squared = jacobian.square();
            var rows = new Tensor[n];
            for (int i = 0; i < n; i++)
            {
                string task = step.Tasks[i];
                var sum = Tracked(squaredSums, task, squared[i]);
                sum.add_(squared[i]);
                rows[i] = (squared[i] / (sum + 1e-7).sqrt()).sum();
            }

            excess = stack(rows).to(ScalarType.Float64).cpu().data<double>().ToArray();
        }

        foreach (var task in step.Tasks)
            weights.TryAdd(task, 1.0 / n);
        long call = calls++;
        if (call < NWarmupSteps)
        {
            for (int i = 0; i < n; i++)
                warmupSum[step.Tasks[i]] = warmupSum.GetValueOrDefault(step.Tasks[i]) + excess[i];
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                string task = step.Tasks[i];
                if (!baseline.TryGetValue(task, out var b))
                {
                    if (NWarmupSteps > 0)
                    {
                        baseline[task] = warmupSum.GetValueOrDefault(task) / NWarmupSteps;
                        excess[i] /= baseline[task] + 1e-7;
                    }
                    else
                    {
                        baseline[task] = excess[i];
                    }
                }
                else
                {
                    excess[i] /= b + 1e-7;
                }
            }

            // w·exp(η e) renormalised, computed in log space: the same numbers, without overflow for large e.
            var logs = step.Tasks.Select((t, i) => Math.Log(weights[t]) + excess[i] * RobustStepSize).ToArray();
            double max = logs.Max();
            var next = logs.Select(l => Math.Exp(l - max)).ToArray();
            double total = next.Sum();
            for (int i = 0; i < n; i++)
                weights[step.Tasks[i]] = next[i] / total;
        }

        var present = step.Tasks.Select(t => weights[t]).ToArray();
        double presentSum = present.Sum();
        applied = present.Select(w => w / presentSum).ToArray();
        using var w = tensor(applied, dtype: jacobian.dtype, device: jacobian.device);
        return matmul(w, jacobian);
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, double[]> SaveState()
    {
        var state = new Dictionary<string, double[]>(StringComparer.Ordinal) { ["calls"] = [calls] };
        foreach (var (task, w) in weights)
            state["weight:" + task] = [w];
        foreach (var (task, b) in baseline)
            state["baseline:" + task] = [b];
        foreach (var (task, s) in warmupSum)
            state["warmup:" + task] = [s];
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        weights.Clear();
        baseline.Clear();
        warmupSum.Clear();
        foreach (var (key, value) in state)
        {
            if (value.Length != 1)
                continue;
            if (key.StartsWith("weight:", StringComparison.Ordinal))
                weights[key["weight:".Length..]] = value[0];
            else if (key.StartsWith("baseline:", StringComparison.Ordinal))
                baseline[key["baseline:".Length..]] = value[0];
            else if (key.StartsWith("warmup:", StringComparison.Ordinal))
                warmupSum[key["warmup:".Length..]] = value[0];
            else if (key == "calls")
                calls = (long)value[0];
        }
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveTensorState() => ExportTracks(squaredSums, SumPrefix);

    /// <inheritdoc />
    public override void LoadTensorState(IReadOnlyDictionary<string, Tensor> state) => ImportTracks(squaredSums, state, SumPrefix);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in squaredSums.Values)
            t.Dispose();
        squaredSums.Clear();
    }
}

/// <summary>Settings of <see cref="ExcessMtlAggregator"/> (configuration <c>loss:excess_mtl</c>).</summary>
internal sealed class ExcessMtlOptions : GradientStrategyOptions
{
    /// <summary>Step size η of the exponentiated update; &gt; 0. Default 1 (TorchJD; LibMTL 0.01).</summary>
    public double RobustStepSize { get; set; } = 1.0;

    /// <summary>Calls that only collect the baseline; ≥ 0. Default 0.</summary>
    public int NWarmupSteps { get; set; }

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        RefuseRepGrad(errors, "ExcessMTL sums the parameters' squared gradients across steps");
        if (!(RobustStepSize > 0) || !double.IsFinite(RobustStepSize))
            errors.Add(Message(nameof(RobustStepSize), RobustStepSize, "a finite number > 0"));
        if (NWarmupSteps < 0)
            errors.Add(Message(nameof(NWarmupSteps), NWarmupSteps, "a whole number >= 0"));
    }
}
