using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// DB-MTL (Lin et al., "Dual-Balancing for Multi-Task Learning", 2023), as LibMTL's DB_MTL: the
/// gradients of log(L_t + 1e-8), h_t = g_t/(L_t + 1e-8), tracked as b_t ← h_t + β/k^σβ·(b_t − h_t)
/// (from 0); with u_t = ‖b_t‖, α_t = max u/(u_t + 1e-8) and the update Σ_t α_t b_t. The reported weight of
/// a task is α_t/(L_t + 1e-8), its factor on the current gradient when β = 0.
/// </summary>
/// <remarks>
/// Stateful: b (one P-vector per task, on the device) and the call count k; k is checkpointed as a number,
/// b as tensors (<c>buffer.&lt;task&gt;</c>). λ_t scales g_t and L_t alike, so it cancels in h_t.
/// </remarks>
internal sealed class DbMtlAggregator : GradientAggregator, IDisposable
{
    private readonly Dictionary<string, Tensor> buffers = new(StringComparer.Ordinal);
    private const string BufferPrefix = "buffer.";
    private long calls;

    /// <summary>Options <c>beta</c> (0.9) and <c>beta_sigma</c> (0).</summary>
    public DbMtlAggregator(double beta = 0.9, double betaSigma = 0)
    {
        Beta = Require(beta >= 0 && double.IsFinite(beta), beta, "db_mtl", "beta", "a finite number >= 0");
        BetaSigma = Require(betaSigma >= 0 && double.IsFinite(betaSigma), betaSigma, "db_mtl", "beta_sigma", "a finite number >= 0");
    }

    /// <summary>Weight of the history in the tracked gradients.</summary>
    public double Beta { get; }

    /// <summary>Decay exponent of <see cref="Beta"/>.</summary>
    public double BetaSigma { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step) =>
        throw new NotSupportedException("DB-MTL tracks the gradients themselves; use Update.");

    /// <inheritdoc />
    public override Tensor Update(Tensor jacobian, GradientStep step, out double[] applied)
    {
        ArgumentNullException.ThrowIfNull(jacobian);
        ArgumentNullException.ThrowIfNull(step);
        int n = step.Count;
        long k = ++calls;
        double betaStep = Beta / Math.Pow(k, BetaSigma);
        using var scope = NewDisposeScope();
        var b = new Tensor[n];
        for (int t = 0; t < n; t++)
        {
            var h = jacobian[t] / (step.Losses[t] + 1e-8);
            var buffer = Tracked(buffers, step.Tasks[t], h);
            buffer.copy_(h + betaStep * (buffer - h));
            b[t] = buffer;
        }

        var bs = stack(b);
        var norms = linalg.vector_norm(bs, dims: [1]).to(ScalarType.Float64).cpu().data<double>().ToArray();
        double max = norms.Max();
        var alpha = norms.Select(u => max / (u + 1e-8)).ToArray();
        applied = alpha.Select((a, t) => a / (step.Losses[t] + 1e-8)).ToArray();
        using var w = tensor(alpha, dtype: jacobian.dtype, device: jacobian.device);
        return matmul(w, bs).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, double[]> SaveState() => new Dictionary<string, double[]> { ["calls"] = [calls] };

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        calls = state.TryGetValue("calls", out var c) && c.Length == 1 ? (long)c[0] : 0;
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveTensorState() => ExportTracks(buffers, BufferPrefix);

    /// <inheritdoc />
    public override void LoadTensorState(IReadOnlyDictionary<string, Tensor> state) => ImportTracks(buffers, state, BufferPrefix);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in buffers.Values)
            t.Dispose();
        buffers.Clear();
    }
}

/// <summary>Settings of <see cref="DbMtlAggregator"/> (configuration <c>loss:db_mtl</c>).</summary>
internal sealed class DbMtlOptions : GradientStrategyOptions
{
    /// <summary>Weight of the history in the tracked gradients; ≥ 0. Default 0.9.</summary>
    public double Beta { get; set; } = 0.9;

    /// <summary>Decay exponent of beta; ≥ 0. Default 0.</summary>
    public double BetaSigma { get; set; }

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        RefuseRepGrad(errors, "DB-MTL tracks the parameters' gradients across steps");
        if (!(Beta >= 0) || !double.IsFinite(Beta))
            errors.Add(Message(nameof(Beta), Beta, "a finite number >= 0"));
        if (!(BetaSigma >= 0) || !double.IsFinite(BetaSigma))
            errors.Add(Message(nameof(BetaSigma), BetaSigma, "a finite number >= 0"));
    }
}
