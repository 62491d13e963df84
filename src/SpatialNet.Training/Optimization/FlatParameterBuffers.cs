using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Training.Optimization;

/// <summary>
/// Moves a module's trainable parameters and their gradients into a few contiguous buffers (one per
/// parameter group, device and dtype) and makes every parameter and every gradient a view into them.
/// Zeroing, norm computation, clipping and the optimizer update then run as a handful of
/// kernels over the buffers instead of a few kernels per parameter, which is what bounds a TorchSharp
/// training step on a fast GPU (host-side launch overhead).
/// </summary>
/// <remarks>
/// <para>
/// Under <see cref="PrecisionMode.BFloat16Mixed"/> the constructor first copies the float32 values
/// into float32 master buffers, then casts the whole module (parameters and floating-point buffers)
/// to bfloat16 and makes the bfloat16 parameters views into a bfloat16 buffer.
/// </para>
/// <para>
/// Rules for code that holds the module afterwards: do not move or cast the module (that replaces
/// its parameters and breaks the views; move it before creating the buffers), and do not call the
/// module's <c>zero_grad()</c> (it may drop the gradient views); use <see cref="ZeroGrad"/>.
/// A parameter that takes no part in a step's forward pass gets a zero gradient, not "no gradient".
/// </para>
/// </remarks>
internal sealed class FlatParameterBuffers : IDisposable
{
    private readonly List<FlatBucket> _buckets = [];
    private readonly List<(string Name, Parameter Parameter)> _parameters = [];
    private readonly nn.Module _module;
    private readonly Dictionary<string, Tensor?[]> _activeMasks = new(StringComparer.Ordinal);
    private bool _gradientsOnMaster;
    private bool _restored;
    private bool _disposed;

    /// <summary>Flattens the trainable parameters of <paramref name="module"/>.</summary>
    /// <param name="module">The model; already on its training device.</param>
    /// <param name="groups">
    /// Parameter groups in priority order (see <see cref="ParameterGroupSpec.Selector"/>); <c>null</c>
    /// puts every parameter in one group named "all".
    /// </param>
    /// <param name="precision">
    /// Precision mode; <see cref="PrecisionMode.BFloat16Mixed"/> casts the module, and
    /// <see cref="PrecisionMode.Auto"/> means bf16 mixed when the first trainable parameter is on CUDA,
    /// float32 otherwise (<see cref="Precision"/> tells which).
    /// </param>
    /// <exception cref="ArgumentException">A parameter is selected by no group, or a trainable parameter is not floating-point.</exception>
    public FlatParameterBuffers(nn.Module module, IReadOnlyList<ParameterGroupSpec>? groups = null, PrecisionMode precision = PrecisionMode.Float32)
    {
        ArgumentNullException.ThrowIfNull(module);
        _module = module;
        Groups = groups is { Count: > 0 } ? groups : [new ParameterGroupSpec("all")];
        // Assign every trainable parameter to the first group that selects it.
        var named = module.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        Precision = MixedPrecision.Resolve(precision, named.Count > 0 ? named[0].parameter.device : CPU);
        var computeDType = MixedPrecision.ComputeDType(Precision);
        var layout = new List<(int Group, Device Device, ScalarType DType, List<(string Name, Parameter P)> Members)>();
        foreach (var (name, parameter) in named)
        {
            if (!parameter.is_floating_point())
                throw new ArgumentException($"Trainable parameter '{name}' has dtype {parameter.dtype}; only floating-point parameters can be optimized.", nameof(module));
            int group = FindGroup(name, parameter);
            var device = parameter.device;
            var dtype = parameter.dtype;
            int slot = layout.FindIndex(b => b.Group == group && b.DType == dtype && SameDevice(b.Device, device));
            if (slot < 0)
            {
                layout.Add((group, device, dtype, []));
                slot = layout.Count - 1;
            }
            layout[slot].Members.Add((name, parameter));
        }
        // Buckets in group order, so that the layout does not depend on parameter enumeration order across groups.
        layout = [.. layout.OrderBy(b => b.Group)];

        using (no_grad())
        {
            // 1) Master (float32 under mixed precision, else the model dtype itself) holding the current values.
            var masters = new List<Tensor>(layout.Count);
            var entries = new List<List<FlatParameterEntry>>(layout.Count);
            foreach (var (_, device, dtype, members) in layout)
            {
                long total = members.Sum(m => m.P.numel());
                var masterDType = computeDType is null ? dtype : ScalarType.Float32;
                var master = empty(total, dtype: masterDType, device: device).DetachFromDisposeScope();
                var bucketEntries = new List<FlatParameterEntry>(members.Count);
                long offset = 0;
                foreach (var (name, p) in members)
                {
                    long n = p.numel();
                    using (var slice = master.narrow(0, offset, n))
                    using (var flatParam = p.detach().reshape(n))
                        slice.copy_(flatParam);
                    bucketEntries.Add(new FlatParameterEntry(name, offset, p.shape, n));
                    offset += n;
                }
                masters.Add(master);
                entries.Add(bucketEntries);
            }

            // 2) Under mixed precision the module computes in bfloat16: cast it (parameters are replaced).
            Dictionary<string, Parameter> current;
            if (computeDType is ScalarType cd)
            {
                module.to(cd);
                current = module.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
            }
            else
            {
                current = named.ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
            }

            // 3) Model weights and gradients as flat buffers; parameters and gradients become views.
            for (int b = 0; b < layout.Count; b++)
            {
                var (group, device, _, _) = layout[b];
                var master = masters[b];
                Tensor weights;
                if (computeDType is ScalarType dt)
                {
                    weights = master.to(dt).DetachFromDisposeScope();
                }
                else
                {
                    weights = master;
                }
                var gradients = zeros_like(weights).DetachFromDisposeScope();
                var masterGradients = ReferenceEquals(weights, master) ? gradients : zeros_like(master).DetachFromDisposeScope();
                foreach (var entry in entries[b])
                {
                    var p = current[entry.Name];
                    using (var wView = weights.narrow(0, entry.Offset, entry.NumElements).view(entry.Shape))
                    {
                        // TorchSharp's in-place set_ may hand back the parameter itself: dispose only a distinct wrapper.
                        var result = p.set_(wView);
                        if (!ReferenceEquals(result, p))
                            result.Dispose();
                    }
                    using var gView = gradients.narrow(0, entry.Offset, entry.NumElements).view(entry.Shape);
                    p.grad = gView;
                    _parameters.Add((entry.Name, p));
                }
                _buckets.Add(new FlatBucket(b, group, Groups[group], device, entries[b], weights, gradients, master, masterGradients));
            }
        }
        NumElements = _buckets.Sum(b => b.NumElements);
        _gradientsOnMaster = !_buckets.Any(b => b.HasSeparateMaster);
    }

    /// <summary>The parameter groups (including groups that ended up empty).</summary>
    public IReadOnlyList<ParameterGroupSpec> Groups { get; }

    /// <summary>Precision mode the buffers were built for (never <see cref="PrecisionMode.Auto"/>: that is resolved against the parameters' device).</summary>
    public PrecisionMode Precision { get; }

    /// <summary>The buckets, ordered by group.</summary>
    internal IReadOnlyList<FlatBucket> Buckets => _buckets;

    /// <summary>The flattened parameters (state-dict name, parameter) in bucket order.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters => _parameters;

    /// <summary>Total number of trainable elements.</summary>
    public long NumElements { get; }

    /// <summary>Sets every gradient to zero (one kernel per bucket).</summary>
    public void ZeroGrad()
    {
        ThrowIfDisposed();
        foreach (var b in _buckets)
            b.Gradients.zero_();
        _gradientsOnMaster = !_buckets.Any(b => b.HasSeparateMaster);
    }

    /// <summary>
    /// Copies the model's (bfloat16) gradients into the float32 master gradients; a no-op when
    /// masters and model share buffers. Called automatically by the operations that read master
    /// gradients if it has not run since the last <see cref="ZeroGrad"/>.
    /// </summary>
    public void SyncGradientsToMaster()
    {
        ThrowIfDisposed();
        foreach (var b in _buckets)
        {
            if (b.HasSeparateMaster)
                b.MasterGradients.copy_(b.Gradients);
        }
        _gradientsOnMaster = true;
    }

    /// <summary>Copies the master weights into the model's weights (one cast kernel per bucket); a no-op without separate masters.</summary>
    public void SyncMasterToModel()
    {
        ThrowIfDisposed();
        using var _ = no_grad();
        foreach (var b in _buckets)
        {
            if (b.HasSeparateMaster)
                b.Weights.copy_(b.MasterWeights);
        }
    }

    /// <summary>
    /// The master value of every flattened parameter (state-dict name → a view of shape the
    /// parameter's, float32 under mixed precision, otherwise the parameter's own storage). The views
    /// live as long as the buffers; copy them to keep values past <see cref="Dispose"/>.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> MasterWeights()
    {
        ThrowIfDisposed();
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var b in _buckets)
        {
            foreach (var e in b.Entries)
                result[e.Name] = b.MasterWeights.narrow(0, e.Offset, e.NumElements).view(e.Shape);
        }
        return result;
    }

    /// <summary>
    /// Under <see cref="PrecisionMode.BFloat16Mixed"/>: casts the module back to float32 and gives every
    /// flattened parameter its exact float32 master value, so that after training the model holds
    /// the full-precision weights instead of their bfloat16 rounding. The buffers no longer back the
    /// module afterwards: call this when training is over (<see cref="Engine.Trainer"/> does on dispose).
    /// </summary>
    /// <remarks>
    /// Weights changed since the last optimizer step (for example best weights loaded into the model
    /// in place) are kept: an element takes its master value only where the model's bfloat16 weight
    /// still equals the master's rounding. Nothing is done in float32, when already restored, or when
    /// the module's parameters are no longer bfloat16 (another trainer restored or cast it since).
    /// Floating-point buffers and frozen parameters have no masters: they come back from bfloat16.
    /// Gradients are dropped.
    /// </remarks>
    public void RestoreModule()
    {
        ThrowIfDisposed();
        if (_restored || Precision != PrecisionMode.BFloat16Mixed)
            return;
        _restored = true;
        if (_parameters.Any(p => p.Parameter.dtype != ScalarType.BFloat16))
            return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Values first (bf16 weights are views into the buffers), then the cast; gradients are not carried over.
        var restored = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var current = _parameters.ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        foreach (var b in _buckets)
        {
            foreach (var e in b.Entries)
            {
                var master = b.MasterWeights.narrow(0, e.Offset, e.NumElements).view(e.Shape).to(ScalarType.Float32);
                var weight = current[e.Name];
                var unchanged = weight.eq(master.to(weight.dtype));
                restored[e.Name] = where(unchanged, master, weight.to(ScalarType.Float32));
            }
        }
        foreach (var (_, p) in _parameters)
            p.grad = null;
        _module.to(ScalarType.Float32);
        foreach (var (name, p) in _module.named_parameters())
        {
            if (restored.TryGetValue(name, out var value))
                p.copy_(value);
        }
    }

    /// <summary>
    /// Global L2 norm of all master gradients, √(Σ_b ‖g_b‖²), as a float32 scalar tensor on the first
    /// bucket's device (no host synchronisation). The caller owns the result.
    /// </summary>
    public Tensor GradientNorm()
    {
        ThrowIfDisposed();
        EnsureGradientsOnMaster();
        if (_buckets.Count == 0)
            return zeros(Array.Empty<long>(), dtype: ScalarType.Float32);
        using var scope = NewDisposeScope();
        var device = _buckets[0].Device;
        Tensor total;
        if (_buckets.Count == 1)
        {
            total = linalg.vector_norm(_buckets[0].MasterGradients).to(ScalarType.Float32);
        }
        else
        {
            var norms = _buckets.Select(b => linalg.vector_norm(b.MasterGradients).to(ScalarType.Float32).to(device)).ToArray();
            total = linalg.vector_norm(stack(norms));
        }
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Scales all master gradients so that their global norm is at most <paramref name="maxNorm"/>,
    /// with the same rule as PyTorch's <c>clip_grad_norm_</c>: factor = min(1, maxNorm / (norm + 1e-6)).
    /// Returns the norm before clipping (float32 scalar tensor; the caller owns it).
    /// </summary>
    public Tensor ClipGradientNorm(double maxNorm)
    {
        if (!(maxNorm > 0) || double.IsInfinity(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "Gradient clipping norm must be a finite number > 0.");
        var total = GradientNorm();
        using var scope = NewDisposeScope();
        // Scalars held in locals until the end of the call: an implicit temporary can be finalized while
        // libtorch still reads it (TorchSharp 0.107), which surfaced as a sporadic "toFloat" check failure.
        using var eps = 1e-6.ToScalar();
        using var one = 1.0.ToScalar();
        using var max = maxNorm.ToScalar();
        var factor = total.add(eps, one).reciprocal_().mul_(max).clamp_max_(one);
        foreach (var b in _buckets)
            b.MasterGradients.mul_(factor.to(b.MasterGradients.device));
        return total;
    }

    /// <summary>
    /// Per bucket, a boolean mask over its elements that is false for the <paramref name="unused"/>
    /// elements (name → element indices, <c>null</c> for the whole parameter), or <c>null</c> when
    /// every element of the bucket is used. Masks are cached per set of unused elements (a
    /// multi-dataset run has a few), so a step uploads nothing. Names not flattened here are ignored.
    /// </summary>
    internal Tensor?[] ActiveMasks(IReadOnlyDictionary<string, long[]?> unused)
    {
        ThrowIfDisposed();
        var key = string.Join("\n", unused.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => kv.Value is null ? kv.Key : kv.Key + ":" + string.Join(",", kv.Value)));
        if (_activeMasks.TryGetValue(key, out var cached))
            return cached;
        var masks = new Tensor?[_buckets.Count];
        for (int b = 0; b < _buckets.Count; b++)
        {
            var bucket = _buckets[b];
            bool[]? host = null;
            foreach (var e in bucket.Entries)
            {
                if (!unused.TryGetValue(e.Name, out var indices))
                    continue;
                if (host is null)
                {
                    host = new bool[bucket.NumElements];
                    Array.Fill(host, true);
                }
                if (indices is null)
                {
                    Array.Fill(host, false, (int)e.Offset, (int)e.NumElements);
                    continue;
                }
                foreach (long i in indices)
                {
                    if (i < 0 || i >= e.NumElements)
                        throw new ArgumentOutOfRangeException(nameof(unused), i, $"Parameter '{e.Name}' has {e.NumElements} elements; unused element index out of range.");
                    host[e.Offset + i] = false;
                }
            }
            if (host is not null)
                masks[b] = tensor(host, device: bucket.Device).DetachFromDisposeScope();
        }
        _activeMasks[key] = masks;
        return masks;
    }

    internal void EnsureGradientsOnMaster()
    {
        if (!_gradientsOnMaster)
            SyncGradientsToMaster();
    }

    /// <summary>Frees the flat buffers.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var b in _buckets)
            b.Dispose();
        foreach (var masks in _activeMasks.Values)
        {
            foreach (var m in masks)
                m?.Dispose();
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private int FindGroup(string name, Parameter parameter)
    {
        for (int g = 0; g < Groups.Count; g++)
        {
            var selector = Groups[g].Selector;
            if (selector is null || selector(name, parameter))
                return g;
        }
        throw new ArgumentException(
            $"Parameter '{name}' is selected by no parameter group ({string.Join(", ", Groups.Select(g => g.Name))}); " +
            "add a group without a selector to catch the rest.", nameof(Groups));
    }

    private static bool SameDevice(Device a, Device b) => a.type == b.type && a.index == b.index;
}
