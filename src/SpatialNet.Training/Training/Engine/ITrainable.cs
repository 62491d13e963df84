using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Engine;

/// <summary>
/// What the trainer needs from a model: its module (for parameters, train/eval mode and the state
/// dict) and a loss for a batch. A multi-task model implements it by running the encoder and heads
/// and combining the task losses with its loss composer.
/// </summary>
public interface ITrainable
{
    /// <summary>The module whose trainable parameters are optimized.</summary>
    nn.Module Module { get; }

    /// <summary>
    /// Computes the losses of one batch (a dictionary of named tensors, already on the model's
    /// device and, under mixed precision, with floating-point inputs in the compute dtype). Called in
    /// training mode with gradients enabled; the trainer calls <c>backward()</c> on
    /// <see cref="TrainingLosses.Total"/>. Tensors may be left in the current dispose scope.
    /// </summary>
    TrainingLosses ComputeLosses(IReadOnlyDictionary<string, Tensor> batch);
}

/// <summary>The losses of one batch.</summary>
public sealed class TrainingLosses
{
    /// <summary>Creates the result.</summary>
    /// <param name="total">The scalar to minimise (for the paper, L_MTL = Σ_t λ_t·L_t).</param>
    /// <param name="terms">Per-task (or other named) scalar terms for logging; may be empty.</param>
    public TrainingLosses(Tensor total, IReadOnlyDictionary<string, Tensor>? terms = null)
    {
        ArgumentNullException.ThrowIfNull(total);
        if (total.numel() != 1)
            throw new ArgumentException($"The total loss must be a scalar; got shape [{string.Join(", ", total.shape)}].", nameof(total));
        Total = total;
        Terms = terms ?? new Dictionary<string, Tensor>();
        foreach (var (name, t) in Terms)
        {
            if (t.numel() != 1)
                throw new ArgumentException($"Loss term '{name}' must be a scalar; got shape [{string.Join(", ", t.shape)}].", nameof(terms));
            if (name is TotalLossName or L2TermName)
                throw new ArgumentException($"Loss term name '{name}' is reserved by the trainer.", nameof(terms));
        }
    }

    /// <summary>Name under which the total loss appears in histories and logs.</summary>
    public const string TotalLossName = "loss";

    /// <summary>Name of the L2 term the trainer adds when <see cref="TrainerOptions.L2Coefficient"/> &gt; 0.</summary>
    public const string L2TermName = "l2";

    /// <summary>The scalar to minimise.</summary>
    public Tensor Total { get; }

    /// <summary>Named scalar terms for logging.</summary>
    public IReadOnlyDictionary<string, Tensor> Terms { get; }
}

/// <summary>An <see cref="ITrainable"/> from a module and a loss function.</summary>
public sealed class DelegateTrainable : ITrainable
{
    private readonly Func<IReadOnlyDictionary<string, Tensor>, TrainingLosses> _computeLosses;

    /// <summary>Wraps <paramref name="module"/> with <paramref name="computeLosses"/>.</summary>
    public DelegateTrainable(nn.Module module, Func<IReadOnlyDictionary<string, Tensor>, TrainingLosses> computeLosses)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(computeLosses);
        Module = module;
        _computeLosses = computeLosses;
    }

    /// <inheritdoc />
    public nn.Module Module { get; }

    /// <inheritdoc />
    public TrainingLosses ComputeLosses(IReadOnlyDictionary<string, Tensor> batch) => _computeLosses(batch);
}
