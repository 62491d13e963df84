using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// MoCo (Fernando et al., "Mitigating Gradient Bias in Multi-objective Learning: A Provably
/// Convergent Approach", ICLR 2023), as LibMTL's MoCo (TorchJD v0.17 has none): at call k,
/// ĝ_t = g_t/(‖g_t‖ + 1e-8)·L_t; the tracked gradients y_t ← y_t − β/k^σβ·(y_t − ĝ_t); the weights
/// λ ← softmax(λ − γ/k^σγ·(YYᵀ + ρI)λ) from 1/T; the update is Yᵀλ, and λ is what is reported.
/// </summary>
/// <remarks>
/// Stateful: y (one P-vector per task, on the device), λ per task and the call count k. A batch
/// with only some tasks uses and updates their y and λ (λ renormalised over them). λ and k are
/// checkpointed as numbers, y as tensors (<c>tracked.&lt;task&gt;</c>).
/// </remarks>
internal sealed class MocoAggregator : GradientAggregator, IDisposable
{
    private readonly Dictionary<string, Tensor> tracked = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> lambda = new(StringComparer.Ordinal);
    private const string TrackPrefix = "tracked.";
    private long calls;

    /// <summary>Options <c>beta</c> (0.5), <c>beta_sigma</c> (0.5), <c>gamma</c> (0.1), <c>gamma_sigma</c> (0.5), <c>rho</c> (0).</summary>
    public MocoAggregator(double beta = 0.5, double betaSigma = 0.5, double gamma = 0.1, double gammaSigma = 0.5, double rho = 0)
    {
        Beta = Require(beta >= 0 && double.IsFinite(beta), beta, "moco", "beta", "a finite number >= 0");
        BetaSigma = Require(betaSigma >= 0 && double.IsFinite(betaSigma), betaSigma, "moco", "beta_sigma", "a finite number >= 0");
        Gamma = Require(gamma >= 0 && double.IsFinite(gamma), gamma, "moco", "gamma", "a finite number >= 0");
        GammaSigma = Require(gammaSigma >= 0 && double.IsFinite(gammaSigma), gammaSigma, "moco", "gamma_sigma", "a finite number >= 0");
        Rho = Require(rho >= 0 && double.IsFinite(rho), rho, "moco", "rho", "a finite number >= 0");
    }

    /// <summary>Step size of the tracked gradients.</summary>
    public double Beta { get; }

    /// <summary>Decay exponent of <see cref="Beta"/>.</summary>
    public double BetaSigma { get; }

    /// <summary>Step size of the weights.</summary>
    public double Gamma { get; }

    /// <summary>Decay exponent of <see cref="Gamma"/>.</summary>
    public double GammaSigma { get; }

    /// <summary>ℓ2 regularisation of the weights' step.</summary>
    public double Rho { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step) =>
        throw new NotSupportedException("MoCo tracks the gradients themselves; use Update.");

    /// <inheritdoc />
    public override Tensor Update(Tensor jacobian, GradientStep step, out double[] applied)
    {
        ArgumentNullException.ThrowIfNull(jacobian);
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        long k = ++calls;
        double betaStep = Beta / Math.Pow(k, BetaSigma), gammaStep = Gamma / Math.Pow(k, GammaSigma);
        using var scope = NewDisposeScope();
        var y = new Tensor[n];
        for (int t = 0; t < n; t++)
        {
            var g = jacobian[t];
            var normalised = g / (linalg.vector_norm(g) + 1e-8) * step.Losses[t];
            var previous = Tracked(tracked, step.Tasks[t], g);
            previous.sub_(betaStep * (previous - normalised));
            y[t] = previous;
        }

        var ys = stack(y);
        var yy = matmul(ys, ys.t()).to(ScalarType.Float64).cpu().data<double>().ToArray();
        var current = step.Tasks.Select(t => lambda.TryGetValue(t, out var v) ? v : 1.0 / n).ToArray();
        double sum = current.Sum();
        current = current.Select(v => v / sum).ToArray();
        var logits = new double[n];
        for (int i = 0; i < n; i++)
        {
            double product = Rho * current[i];
            for (int j = 0; j < n; j++)
                product += yy[i * n + j] * current[j];
            logits[i] = current[i] - gammaStep * product;
        }

        double max = logits.Max();
        var e = logits.Select(v => Math.Exp(v - max)).ToArray();
        double total = e.Sum();
        applied = e.Select(v => v / total).ToArray();
        for (int i = 0; i < n; i++)
            lambda[step.Tasks[i]] = applied[i];
        using var w = tensor(applied, dtype: jacobian.dtype, device: jacobian.device);
        return matmul(w, ys).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, double[]> SaveState()
    {
        var state = lambda.ToDictionary(kv => "lambda:" + kv.Key, kv => new[] { kv.Value }, StringComparer.Ordinal);
        state["calls"] = [calls];
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lambda.Clear();
        foreach (var (key, value) in state)
        {
            if (key.StartsWith("lambda:", StringComparison.Ordinal) && value.Length == 1)
                lambda[key["lambda:".Length..]] = value[0];
        }

        calls = state.TryGetValue("calls", out var c) && c.Length == 1 ? (long)c[0] : 0;
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveTensorState() => ExportTracks(tracked, TrackPrefix);

    /// <inheritdoc />
    public override void LoadTensorState(IReadOnlyDictionary<string, Tensor> state) => ImportTracks(tracked, state, TrackPrefix);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in tracked.Values)
            t.Dispose();
        tracked.Clear();
    }
}

/// <summary>Settings of <see cref="MocoAggregator"/> (configuration <c>loss:moco</c>).</summary>
internal sealed class MocoOptions : GradientStrategyOptions
{
    /// <summary>Step size of the tracked gradients; ≥ 0. Default 0.5.</summary>
    public double Beta { get; set; } = 0.5;

    /// <summary>Decay exponent of beta; ≥ 0. Default 0.5.</summary>
    public double BetaSigma { get; set; } = 0.5;

    /// <summary>Step size of the weights; ≥ 0. Default 0.1.</summary>
    public double Gamma { get; set; } = 0.1;

    /// <summary>Decay exponent of gamma; ≥ 0. Default 0.5.</summary>
    public double GammaSigma { get; set; } = 0.5;

    /// <summary>ℓ2 regularisation of the weights' step; ≥ 0. Default 0.</summary>
    public double Rho { get; set; }

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        RefuseRepGrad(errors, "MoCo tracks the parameters' gradients across steps");
        foreach (var (name, value) in new[] { (nameof(Beta), Beta), (nameof(BetaSigma), BetaSigma), (nameof(Gamma), Gamma), (nameof(GammaSigma), GammaSigma), (nameof(Rho), Rho) })
        {
            if (!(value >= 0) || !double.IsFinite(value))
                errors.Add(Message(name, value, "a finite number >= 0"));
        }
    }
}
