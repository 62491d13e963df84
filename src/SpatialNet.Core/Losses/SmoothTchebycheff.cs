using System.Globalization;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// Smooth Tchebycheff scalarisation: Lin et al., "Smooth Tchebycheff Scalarization for
/// Multi-Objective Optimization", ICML 2024. With <c>warmup_epochs</c> = 0 (default) TorchJD v0.17's
/// STCH with uniform preference and no reference: μ·log Σ_t exp(L_t/(T·μ)). With
/// <c>warmup_epochs</c> = W &gt; 0 LibMTL's form: Σ_t log L_t in epochs 0…W (epoch W also averages each
/// task's loss into the nadir point n_t), then T·μ·log Σ_t exp((log(L_t/n_t) − max)/μ).
/// </summary>
/// <remarks>
/// The reported weight is ∂total/∂L_t: softmax_t/T (TorchJD form); 1/L_t in warm-up; T·softmax_t/L_t
/// after it. The nadir sums are checkpointed, so a resumed run continues the same warm-up.
/// </remarks>
internal sealed class SmoothTchebycheff : ILossComposer
{
    private readonly Dictionary<string, (double Sum, long Count)> nadir = new(StringComparer.Ordinal);

    /// <summary>Options <c>mu</c> (1.0) and <c>warmup_epochs</c> (0).</summary>
    public SmoothTchebycheff(double mu = 1.0, int warmupEpochs = 0)
    {
        if (!(mu > 0) || !double.IsFinite(mu))
            throw new ArgumentOutOfRangeException(nameof(mu), mu, $"loss:stch:mu must be a finite number > 0; got {mu}.");
        if (warmupEpochs < 0)
            throw new ArgumentOutOfRangeException(nameof(warmupEpochs), warmupEpochs, $"loss:stch:warmup_epochs must be a whole number >= 0; got {warmupEpochs}.");
        Mu = mu;
        WarmupEpochs = warmupEpochs;
    }

    /// <inheritdoc />
    public string Name => "stch";

    /// <summary>Smoothing μ.</summary>
    public double Mu { get; }

    /// <summary>Warm-up epochs W (0: TorchJD's form).</summary>
    public int WarmupEpochs { get; }

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, Name);
        ArgumentNullException.ThrowIfNull(context);
        var tasks = taskLosses.Keys.ToArray();
        int n = tasks.Length;
        var losses = stack(tasks.Select(t => taskLosses[t]).ToArray());
        Tensor total, derivative;
        if (WarmupEpochs == 0)
        {
            var y = losses / (n * Mu);
            total = Mu * y.logsumexp(0);
            using (no_grad())
                derivative = y.detach().softmax(dim: 0) / n;
        }
        else if (context.Epoch <= WarmupEpochs)
        {
            var shifted = losses + 1e-20;
            total = shifted.log().sum();
            using (no_grad())
            {
                derivative = 1 / shifted.detach();
                if (context.Epoch == WarmupEpochs)
                {
                    var values = losses.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
                    for (int i = 0; i < n; i++)
                    {
                        var (sum, count) = nadir.GetValueOrDefault(tasks[i]);
                        nadir[tasks[i]] = (sum + values[i], count + 1);
                    }
                }
            }
        }
        else
        {
            var point = tensor(tasks.Select(t => nadir.TryGetValue(t, out var s) && s.Count > 0 && s.Sum > 0 ? s.Sum / s.Count : 1.0).ToArray(),
                dtype: losses.dtype, device: losses.device);
            var logs = (losses / point + 1e-20).log();
            var scaled = (logs - logs.detach().max()) / Mu;
            total = n * Mu * scaled.logsumexp(0);
            using (no_grad())
                derivative = n * scaled.detach().softmax(dim: 0) / (losses.detach() + 1e-20 * point);
        }

        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
            weights[tasks[i]] = derivative[i];
        return new ComposedLoss(total, taskLosses, weights);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double[]> SaveState() =>
        nadir.ToDictionary(kv => "nadir:" + kv.Key, kv => new[] { kv.Value.Sum, kv.Value.Count }, StringComparer.Ordinal);

    /// <inheritdoc />
    public void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        nadir.Clear();
        foreach (var (key, value) in state)
        {
            if (key.StartsWith("nadir:", StringComparison.Ordinal) && value.Length == 2)
                nadir[key["nadir:".Length..]] = (value[0], (long)value[1]);
        }
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"stch(mu={Mu}, warmup_epochs={WarmupEpochs})");
}

/// <summary>Settings of <see cref="SmoothTchebycheff"/> (configuration <c>loss:stch</c>).</summary>
internal sealed class SmoothTchebycheffOptions : LossComposerOptions
{
    /// <summary>Smoothing μ; > 0. Default 1.</summary>
    public double Mu { get; set; } = 1.0;
    /// <summary>0: TorchJD's form; W &gt; 0: LibMTL's warm-up and nadir form.</summary>
    public int WarmupEpochs { get; set; } = 0;

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!(Mu > 0) || !double.IsFinite(Mu))
            errors.Add(Message(nameof(Mu), Mu, "a finite number > 0"));
        if (WarmupEpochs < 0)
            errors.Add(Message(nameof(WarmupEpochs), WarmupEpochs, "a whole number >= 0"));
    }
}
