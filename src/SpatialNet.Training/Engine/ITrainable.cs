using SpatialNet.Training.Checkpoints;
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
    /// training mode with gradients enabled; the trainer then calls <see cref="TrainingLosses.Backward"/>.
    /// Tensors may be left in the current dispose scope.
    /// </summary>
    TrainingLosses ComputeLosses(IReadOnlyDictionary<string, Tensor> batch);

    /// <summary>
    /// The L2 term the losses carry, or <c>null</c> (default). The trainer refuses AdamW weight decay
    /// on top of it unless <see cref="TrainerOptions.CombineL2AndWeightDecay"/> is set.
    /// </summary>
    SpatialNet.Losses.L2Regularization? L2 => null;

    /// <summary>Called before each step's <see cref="ComputeLosses"/> with where training stands. Default: nothing.</summary>
    void OnStepStart(TrainingPosition position) { }

    /// <summary>
    /// Called after each step's optimizer update with the step's prepared batch (the same
    /// <see cref="ComputeLosses"/> saw), for strategies that read the losses after the update (FAMO).
    /// Default: nothing.
    /// </summary>
    void OnStepEnd(IReadOnlyDictionary<string, Tensor> batch) { }

    /// <summary>Called once per finished epoch (1-based <paramref name="epoch"/>), before evaluation. Default: nothing.</summary>
    void OnEpochEnd(int epoch) { }

    /// <summary>
    /// Host-side state to store in checkpoints (for example a loss composer's epoch statistics), or
    /// <c>null</c> (default) when there is none. Tensors belong in <see cref="Module"/> instead.
    /// </summary>
    string? SaveState() => null;

    /// <summary>Restores what <see cref="SaveState"/> returned. Default: nothing.</summary>
    void LoadState(string state) { }

    /// <summary>
    /// Tensor state to store in checkpoints besides <see cref="Module"/>'s state dict (a loss composer's
    /// tracked per-task gradients), by name, in its own dtype; saved as tensors. Default: none.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> SaveTensorState() => new Dictionary<string, Tensor>();

    /// <summary>
    /// Restores what <see cref="SaveTensorState"/> returned (CPU tensors the caller disposes); empty for a
    /// checkpoint written without any. Default: nothing.
    /// </summary>
    void LoadTensorState(IReadOnlyDictionary<string, Tensor> state) { }
}

/// <summary>The losses of one batch.</summary>
public sealed class TrainingLosses
{
    private readonly Action? _backward;

    /// <summary>Creates the result.</summary>
    /// <param name="total">The scalar to minimise (for the paper, L_MTL = Σ_t λ_t·L_t).</param>
    /// <param name="terms">Per-task (or other named) scalar terms for logging; may be empty.</param>
    /// <param name="backward">
    /// Computes the gradients of <paramref name="total"/>; <c>null</c> (default) calls <c>total.backward()</c>.
    /// Gradient strategies that alter task gradients (PCGrad, through <c>ComposedLoss.Backward</c>) pass theirs.
    /// </param>
    public TrainingLosses(Tensor total, IReadOnlyDictionary<string, Tensor>? terms = null, Action? backward = null)
    {
        ArgumentNullException.ThrowIfNull(total);
        if (total.numel() != 1)
            throw new ArgumentException($"The total loss must be a scalar; got shape [{string.Join(", ", total.shape)}].", nameof(total));
        Total = total;
        _backward = backward;
        Terms = terms ?? new Dictionary<string, Tensor>();
        foreach (var (name, t) in Terms)
        {
            if (t.numel() != 1)
                throw new ArgumentException($"Loss term '{name}' must be a scalar; got shape [{string.Join(", ", t.shape)}].", nameof(terms));
            if (name is TotalLossName)
                throw new ArgumentException($"Loss term name '{name}' is reserved by the trainer.", nameof(terms));
        }
    }

    /// <summary>Name under which the total loss appears in histories and logs.</summary>
    public const string TotalLossName = "loss";

    /// <summary>The scalar to minimise.</summary>
    public Tensor Total { get; }

    /// <summary>Named scalar terms for logging.</summary>
    public IReadOnlyDictionary<string, Tensor> Terms { get; }

    /// <summary>
    /// Parameters (state-dict names under <see cref="ITrainable.Module"/> → element indices, <c>null</c>
    /// for the whole parameter) that took no part in this step's loss, such as the heads of tasks a
    /// batch does not carry. The optimizer leaves their weights, moments and step counts untouched,
    /// as <c>torch.optim.AdamW</c> does for a parameter whose gradient is None. <c>null</c>: all took part.
    /// </summary>
    public IReadOnlyDictionary<string, long[]?>? UnusedParameters { get; init; }

    /// <summary>Computes the gradients of <see cref="Total"/> (the trainer calls it once per step).</summary>
    public void Backward()
    {
        if (_backward is null)
            Total.backward();
        else
            _backward();
    }
}
