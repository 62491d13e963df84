using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Optimization;

/// <summary>Hyper-parameters of <see cref="FlatAdamW"/> (defaults of PyTorch's <c>torch.optim.AdamW</c>).</summary>
public sealed class FlatAdamWOptions
{
    /// <summary>Base learning rate of groups that set none.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Exponential decay rate of the first moment.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Exponential decay rate of the second moment.</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>Added to the denominator for numerical stability.</summary>
    public double Eps { get; set; } = 1e-8;

    /// <summary>Decoupled weight decay of groups that set none.</summary>
    public double WeightDecay { get; set; } = 1e-2;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (!(LearningRate >= 0) || double.IsInfinity(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Must be a finite number >= 0.");
        if (!(Beta1 >= 0 && Beta1 < 1))
            throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "Must be in [0, 1).");
        if (!(Beta2 >= 0 && Beta2 < 1))
            throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "Must be in [0, 1).");
        if (!(Eps >= 0) || double.IsInfinity(Eps))
            throw new ArgumentOutOfRangeException(nameof(Eps), Eps, "Must be a finite number >= 0.");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay))
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "Must be a finite number >= 0.");
    }
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter, 2019, "Decoupled Weight Decay Regularization", Algorithm 2) over
/// <see cref="FlatParameterBuffers"/>: each step is about ten kernels per bucket, whatever the number
/// of parameters. The arithmetic follows TorchSharp's <c>torch.optim.AdamW</c> operation by
/// operation, so both give the same result within float rounding.
/// </summary>
internal sealed class FlatAdamW : IDisposable
{
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private readonly double[] _baseLr;
    private readonly double[] _weightDecay;
    // Per-element step counts of a bucket once some of its parameters skipped a step (null: every element has StepCount).
    private readonly Tensor?[] _steps;
    private bool _disposed;

    /// <summary>Creates the optimizer; moments start at zero.</summary>
    internal FlatAdamW(FlatParameterBuffers parameters, FlatAdamWOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Options = options ?? new FlatAdamWOptions();
        Options.Validate();
        Parameters = parameters;
        var buckets = parameters.Buckets;
        _expAvg = new Tensor[buckets.Count];
        _expAvgSq = new Tensor[buckets.Count];
        _baseLr = new double[parameters.Groups.Count];
        _weightDecay = new double[parameters.Groups.Count];
        _steps = new Tensor?[buckets.Count];
        for (int g = 0; g < parameters.Groups.Count; g++)
        {
            _baseLr[g] = parameters.Groups[g].LearningRate ?? Options.LearningRate;
            _weightDecay[g] = parameters.Groups[g].WeightDecay ?? Options.WeightDecay;
        }
        for (int b = 0; b < buckets.Count; b++)
        {
            _expAvg[b] = zeros_like(buckets[b].MasterWeights).DetachFromDisposeScope();
            _expAvgSq[b] = zeros_like(buckets[b].MasterWeights).DetachFromDisposeScope();
        }
    }

    /// <summary>The flat parameters this optimizer updates.</summary>
    internal FlatParameterBuffers Parameters { get; }

    /// <summary>Hyper-parameters.</summary>
    public FlatAdamWOptions Options { get; }

    /// <summary>
    /// Number of steps taken (the t of the bias corrections of every parameter that never sat a step
    /// out; see <see cref="Step"/>).
    /// </summary>
    public long StepCount { get; private set; }

    /// <summary>
    /// Multiplier applied to every group's base learning rate (a learning-rate schedule sets it
    /// before each step). Default 1.
    /// </summary>
    public double LearningRateFactor { get; set; } = 1.0;

    /// <summary>Current learning rate of group <paramref name="group"/>: base rate × <see cref="LearningRateFactor"/>.</summary>
    public double GetLearningRate(int group) => _baseLr[group] * LearningRateFactor;

    /// <summary>Weight decay of group <paramref name="group"/>.</summary>
    public double GetWeightDecay(int group) => _weightDecay[group];

    /// <summary>First-moment buffer of bucket <paramref name="bucket"/> (live tensor; do not dispose).</summary>
    public Tensor ExpAvg(int bucket) => _expAvg[bucket];

    /// <summary>Second-moment buffer of bucket <paramref name="bucket"/> (live tensor; do not dispose).</summary>
    public Tensor ExpAvgSq(int bucket) => _expAvgSq[bucket];

    /// <summary>Zeroes all gradients.</summary>
    public void ZeroGrad() => Parameters.ZeroGrad();

    /// <summary>Clips the global gradient norm (see <see cref="FlatParameterBuffers.ClipGradientNorm"/>); returns the norm before clipping.</summary>
    public Tensor ClipGradNorm(double maxNorm) => Parameters.ClipGradientNorm(maxNorm);

    /// <summary>
    /// One AdamW update of every bucket, then (mixed precision) the masters are copied back to the
    /// model. Per bucket, with lr and λ of its group and t the new step count:
    /// θ ← θ(1 − lr·λ); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
    /// θ ← θ − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
    /// </summary>
    /// <param name="unused">
    /// Parameters (state-dict name → element indices, <c>null</c> for all elements) that took no part
    /// in this step. Like <c>torch.optim.AdamW</c> for a parameter whose gradient is None, their
    /// weights, moments and step counts stay untouched; <c>null</c> or empty steps every parameter.
    /// </param>
    public void Step(IReadOnlyDictionary<string, long[]?>? unused = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Parameters.EnsureGradientsOnMaster();
        var masks = unused is { Count: > 0 } ? Parameters.ActiveMasks(unused) : null;
        StepCount++;
        double beta1 = Options.Beta1, beta2 = Options.Beta2;
        double biasCorrection1 = 1 - Math.Pow(beta1, StepCount);
        double biasCorrection2 = 1 - Math.Pow(beta2, StepCount);
        double sqrtBiasCorrection2 = Math.Sqrt(biasCorrection2);

        using var noGrad = no_grad();
        using var oneMinusBeta1 = (1 - beta1).ToScalar();
        using var oneMinusBeta2 = (1 - beta2).ToScalar();
        using var beta1S = beta1.ToScalar();
        using var beta2S = beta2.ToScalar();
        using var sqrtBc2 = sqrtBiasCorrection2.ToScalar();
        using var eps = Options.Eps.ToScalar();
        var buckets = Parameters.Buckets;
        for (int b = 0; b < buckets.Count; b++)
        {
            var bucket = buckets[b];
            double lr = GetLearningRate(bucket.GroupIndex);
            double wd = _weightDecay[bucket.GroupIndex];
            var param = bucket.MasterWeights;
            var grad = bucket.MasterGradients;
            var m = _expAvg[b];
            var v = _expAvgSq[b];
            var mask = masks?[b];
            if (mask is not null || _steps[b] is not null)
            {
                MaskedStep(b, mask, lr, wd);
                continue;
            }

            if (lr * wd != 0)
            {
                using var decay = (1 - lr * wd).ToScalar();
                param.mul_(decay);
            }
            m.mul_(beta1S).add_(grad, alpha: oneMinusBeta1);
            v.mul_(beta2S).addcmul_(grad, grad, value: oneMinusBeta2);
            using var denom = v.sqrt();
            denom.div_(sqrtBc2).add_(eps);
            using var stepSize = (-lr / biasCorrection1).ToScalar();
            param.addcdiv_(m, denom, value: stepSize);
        }
        Parameters.SyncMasterToModel();
    }

    /// <summary>
    /// The update of one bucket with per-element step counts t_i: elements where
    /// <paramref name="active"/> is false keep θ, m, v and t_i; the others take the update above
    /// with their own bias corrections 1 − β^t_i (torch keeps one step count per parameter).
    /// </summary>
    private void MaskedStep(int b, Tensor? active, double lr, double wd)
    {
        using var scope = NewDisposeScope();
        var bucket = Parameters.Buckets[b];
        var param = bucket.MasterWeights;
        var grad = bucket.MasterGradients;
        var m = _expAvg[b];
        var v = _expAvgSq[b];
        // Step counts become per element the first time a part of the bucket sits a step out.
        _steps[b] ??= full_like(param, (double)(StepCount - 1), dtype: ScalarType.Float64).DetachFromDisposeScope();
        var steps = _steps[b]!;
        if (active is null)
            steps.add_(1);
        else
            steps.add_(active);
        var newParam = lr * wd != 0 ? param.mul(1 - lr * wd) : param.clone();
        var newM = m.mul(Options.Beta1).add_(grad, alpha: 1 - Options.Beta1);
        var newV = v.mul(Options.Beta2).addcmul_(grad, grad, value: 1 - Options.Beta2);
        // 1 − β^t = −expm1(t·ln β), in float64 like the host-side scalars of the uniform path.
        var biasCorrection1 = steps.mul(Math.Log(Options.Beta1)).expm1_().neg_().to(param.dtype);
        var biasCorrection2 = steps.mul(Math.Log(Options.Beta2)).expm1_().neg_().sqrt_().to(param.dtype);
        var denom = newV.sqrt().div_(biasCorrection2).add_(Options.Eps);
        newParam.addcdiv_(newM, denom.mul_(biasCorrection1), value: -lr);
        if (active is null)
        {
            param.copy_(newParam);
            m.copy_(newM);
            v.copy_(newV);
        }
        else
        {
            param.copy_(where(active, newParam, param));
            m.copy_(where(active, newM, m));
            v.copy_(where(active, newV, v));
        }
    }

    /// <summary>
    /// Replaces step count and moments (and, under mixed precision, master weights) with
    /// <paramref name="state"/>; the bucket layout must match.
    /// </summary>
    /// <exception cref="InvalidDataException">The layout of <paramref name="state"/> differs from this optimizer's.</exception>
    internal void ImportState(FlatAdamWState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var buckets = Parameters.Buckets;
        if (state.Buckets.Count != buckets.Count)
            throw new InvalidDataException($"Optimizer state has {state.Buckets.Count} parameter buckets; this optimizer has {buckets.Count}.");
        for (int b = 0; b < buckets.Count; b++)
        {
            var s = state.Buckets[b];
            var bucket = buckets[b];
            if (s.Group != bucket.Group.Name || s.NumElements != bucket.NumElements)
                throw new InvalidDataException(
                    $"Optimizer bucket {b}: state has group '{s.Group}' with {s.NumElements} elements; this optimizer has '{bucket.Group.Name}' with {bucket.NumElements}.");
            if (!s.ParameterNames.SequenceEqual(bucket.Entries.Select(e => e.Name)))
                throw new InvalidDataException($"Optimizer bucket {b} ('{bucket.Group.Name}'): parameter names or order differ from the state's.");
        }
        using var noGrad = no_grad();
        for (int b = 0; b < buckets.Count; b++)
        {
            var s = state.Buckets[b];
            CopyChecked(_expAvg[b], s.ExpAvg, b, "exp_avg");
            CopyChecked(_expAvgSq[b], s.ExpAvgSq, b, "exp_avg_sq");
            _steps[b]?.Dispose();
            _steps[b] = null;
            if (s.Steps is not null)
            {
                _steps[b] = zeros_like(buckets[b].MasterWeights, dtype: ScalarType.Float64).DetachFromDisposeScope();
                CopyChecked(_steps[b]!, s.Steps, b, "step");
            }
            if (buckets[b].HasSeparateMaster)
            {
                if (s.MasterWeights is null)
                    throw new InvalidDataException($"Optimizer bucket {b}: mixed-precision training needs master weights, the state has none.");
                CopyChecked(buckets[b].MasterWeights, s.MasterWeights, b, "master");
            }
        }
        StepCount = state.Step;
        Parameters.SyncMasterToModel();
    }

    /// <summary>
    /// The optimizer state. Its tensors are the live buffers (not copies): write or copy them
    /// before the next <see cref="Step"/>, and do not dispose them.
    /// </summary>
    internal FlatAdamWState ExportState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var buckets = Parameters.Buckets;
        var list = new List<FlatAdamWBucketState>(buckets.Count);
        for (int b = 0; b < buckets.Count; b++)
        {
            var bucket = buckets[b];
            list.Add(new FlatAdamWBucketState(bucket.Group.Name, bucket.NumElements, [.. bucket.Entries.Select(e => e.Name)],
                _expAvg[b], _expAvgSq[b], bucket.HasSeparateMaster ? bucket.MasterWeights : null, _steps[b]));
        }
        return new FlatAdamWState(StepCount, list);
    }

    /// <summary>Frees the moment buffers (not the parameter buffers).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var t in _expAvg)
            t.Dispose();
        foreach (var t in _expAvgSq)
            t.Dispose();
        foreach (var t in _steps)
            t?.Dispose();
    }

    private static void CopyChecked(Tensor target, Tensor source, int bucket, string what)
    {
        if (source.numel() != target.numel())
            throw new InvalidDataException($"Optimizer bucket {bucket} {what}: {source.numel()} elements, expected {target.numel()}.");
        using var reshaped = source.reshape(target.shape);
        target.copy_(reshaped);
    }
}

/// <summary>State of a <see cref="FlatAdamW"/>.</summary>
/// <param name="Step">Steps taken.</param>
/// <param name="Buckets">Per-bucket state, in bucket order.</param>
internal sealed record FlatAdamWState(long Step, IReadOnlyList<FlatAdamWBucketState> Buckets);

/// <summary>State of one bucket of a <see cref="FlatAdamW"/>.</summary>
/// <param name="Group">Parameter group name.</param>
/// <param name="NumElements">Elements in the bucket.</param>
/// <param name="ParameterNames">Parameter names in buffer order (checked on import).</param>
/// <param name="ExpAvg">First moment (flat).</param>
/// <param name="ExpAvgSq">Second moment (flat).</param>
/// <param name="MasterWeights">Float32 master weights under mixed precision, else <c>null</c> (the model's weights are the masters).</param>
/// <param name="Steps">
/// Per-element step counts (float64, flat) once some parameter of the bucket skipped a step, else
/// <c>null</c> (every element has <see cref="FlatAdamWState.Step"/>).
/// </param>
internal sealed record FlatAdamWBucketState(string Group, long NumElements, IReadOnlyList<string> ParameterNames, Tensor ExpAvg, Tensor ExpAvgSq,
    Tensor? MasterWeights, Tensor? Steps = null);
