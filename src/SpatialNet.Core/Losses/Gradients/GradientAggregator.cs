using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// What a gradient strategy sees in one step: the present tasks, the Gramian G·Gᵀ of their
/// gradients on the shared parameters and their loss values, on the host in double.
/// </summary>
internal sealed class GradientStep
{
    /// <summary>The present tasks, in the order of the Gramian's rows.</summary>
    public required IReadOnlyList<string> Tasks { get; init; }

    /// <summary>G·Gᵀ (T × T), G the per-task gradients (T × P) of the shared parameters.</summary>
    public required double[,] Gramian { get; init; }

    /// <summary>Each present task's unweighted loss value.</summary>
    public required double[] Losses { get; init; }

    /// <summary>Optimizer step index (from <see cref="LossContext.Step"/>).</summary>
    public long Step { get; init; }

    /// <summary>Epoch index (from <see cref="LossContext.Epoch"/>).</summary>
    public int Epoch { get; init; }

    /// <summary>Machine epsilon of the precision the gradients were computed in (cut-offs of pseudo-inverses).</summary>
    public double Epsilon { get; init; } = DenseMath.Float64Epsilon;

    /// <summary>Number of present tasks T.</summary>
    public int Count => Tasks.Count;

    /// <summary>A step over the given Gramian (tests, benchmarks).</summary>
    public static GradientStep Of(double[,] gramian, double[]? losses = null, long step = 0) => new()
    {
        Tasks = Enumerable.Range(0, gramian.GetLength(0)).Select(i => $"t{i}").ToArray(),
        Gramian = gramian,
        Losses = losses ?? Enumerable.Repeat(1.0, gramian.GetLength(0)).ToArray(),
        Step = step,
    };
}

/// <summary>
/// A gradient strategy (TorchJD's aggregator): turns the per-task gradients G (T × P) of the
/// shared parameters into the update written to their gradients. Most strategies are linear
/// combinations wᵀG with w from the Gramian alone (<see cref="Weights"/>); strategies that need
/// G itself override <see cref="Update"/>.
/// </summary>
internal abstract class GradientAggregator
{
    /// <summary>The combination weights w (length T) of the rows of G, from <paramref name="step"/>'s Gramian.</summary>
    public abstract double[] Weights(GradientStep step);

    /// <summary>
    /// The update (length P, dtype and device of <paramref name="jacobian"/>) and the per-task
    /// weights to report. Default: wᵀG with w = <see cref="Weights"/>.
    /// </summary>
    public virtual Tensor Update(Tensor jacobian, GradientStep step, out double[] weights)
    {
        ArgumentNullException.ThrowIfNull(jacobian);
        weights = Weights(step);
        using var w = tensor(weights, dtype: jacobian.dtype, device: jacobian.device);
        return matmul(w, jacobian);
    }

    /// <summary>Host state to checkpoint (stateful strategies). Default: none.</summary>
    public virtual IReadOnlyDictionary<string, double[]> SaveState() => new Dictionary<string, double[]>();

    /// <summary>Restores <see cref="SaveState"/>'s state. Default: nothing.</summary>
    public virtual void LoadState(IReadOnlyDictionary<string, double[]> state)
    {
    }

    /// <summary>Device state to checkpoint as tensors, by name (the tracking strategies' P-vector per task). Default: none.</summary>
    public virtual IReadOnlyDictionary<string, Tensor> SaveTensorState() => new Dictionary<string, Tensor>();

    /// <summary>Restores <see cref="SaveTensorState"/>'s tensors (copied; the caller keeps ownership). Default: nothing.</summary>
    public virtual void LoadTensorState(IReadOnlyDictionary<string, Tensor> state)
    {
    }

    /// <summary>The tracked P-vector of <paramref name="task"/>: the stored one, moved to <paramref name="like"/>'s device, or zeros when absent or of another length or dtype.</summary>
    protected static Tensor Tracked(Dictionary<string, Tensor> tracks, string task, Tensor like)
    {
        ArgumentNullException.ThrowIfNull(tracks);
        ArgumentNullException.ThrowIfNull(like);
        if (tracks.TryGetValue(task, out var track) && track.shape[0] == like.shape[0] && track.dtype == like.dtype)
        {
            if (track.device_type == like.device_type && track.device_index == like.device_index)
                return track;
            var moved = track.to(like.device).DetachFromDisposeScope();
            track.Dispose();
            return tracks[task] = moved;
        }

        track?.Dispose();
        return tracks[task] = zeros_like(like).DetachFromDisposeScope();
    }

    /// <summary>The tracks as checkpoint tensors named <paramref name="prefix"/> + task (the stored tensors themselves, not copies).</summary>
    protected static IReadOnlyDictionary<string, Tensor> ExportTracks(Dictionary<string, Tensor> tracks, string prefix)
    {
        ArgumentNullException.ThrowIfNull(tracks);
        return tracks.ToDictionary(kv => prefix + kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>Replaces the tracks by copies of <paramref name="state"/>'s tensors named <paramref name="prefix"/> + task; other names are ignored.</summary>
    protected static void ImportTracks(Dictionary<string, Tensor> tracks, IReadOnlyDictionary<string, Tensor> state, string prefix)
    {
        ArgumentNullException.ThrowIfNull(tracks);
        ArgumentNullException.ThrowIfNull(state);
        foreach (var t in tracks.Values)
            t.Dispose();
        tracks.Clear();
        foreach (var (key, value) in state)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && value.dim() == 1)
                tracks[key[prefix.Length..]] = value.detach().clone().DetachFromDisposeScope();
        }
    }

    /// <summary>Throws a typed error naming the strategy and option when <paramref name="ok"/> is false.</summary>
    protected static double Require(bool ok, double value, string strategy, string option, string rule) => ok
        ? value
        : throw new ArgumentOutOfRangeException(option, value, $"loss:{strategy}:{option} must be {rule}; got {value}.");
}

/// <summary>Settings every gradient strategy has (configuration <c>loss:&lt;name&gt;</c>).</summary>
internal class GradientStrategyOptions : LossComposerOptions
{
    /// <summary>
    /// LibMTL's <c>rep_grad</c>: take the task gradients on the shared representation (the encoder's output) instead
    /// of the encoder's parameters; T cheap passes through the heads and one full backward. Default false.
    /// </summary>
    public bool RepGrad { get; set; }

    /// <summary>Refuses <see cref="RepGrad"/> for strategies whose state follows the parameters.</summary>
    protected void RefuseRepGrad(ICollection<string> errors, string why)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (RepGrad)
            errors.Add(Message(nameof(RepGrad), RepGrad, "false (" + why + ")"));
    }
}
