using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// Combines per-task losses into the multi-task objective (the paper's L_MTL, Eq. 6, or a
/// weighting strategy from the literature). One class per strategy; each cites its paper.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Compose"/> combines exactly the tasks present in its dictionary: a batch drawn from
/// one dataset carries only that dataset's tasks, and absent tasks contribute nothing (no zero
/// placeholders, no renormalisation over absent tasks).
/// </para>
/// <para>
/// A training step is <c>var loss = composer.Compose(losses, ctx); l2?.ApplyTo(loss, model);
/// loss.Backward(); optimizer.step();</c> — always <see cref="ComposedLoss.Backward"/>, never
/// <c>Total.backward()</c>, because gradient strategies (PCGrad) do their work there. At the end of
/// every epoch call <see cref="OnEpochEnd"/> (Dynamic Weight Average needs it); after every
/// optimizer step <see cref="AfterOptimizerStep"/> (FAMO needs it).
/// </para>
/// </remarks>
public interface ILossComposer
{
    /// <summary>Short name of the strategy for logs and reports.</summary>
    string Name { get; }

    /// <summary>Combines the losses of the tasks in this batch.</summary>
    /// <param name="taskLosses">Task name → 0-dim loss tensor (with its graph); at least one entry.</param>
    /// <param name="context">Where training stands, and the shared parameters for gradient strategies.</param>
    ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context);

    /// <summary>Marks the end of an epoch; strategies that weigh by epoch statistics update here. Default: nothing.</summary>
    void OnEpochEnd() { }

    /// <summary>
    /// The composer as a module when it has learnable parameters (uncertainty weighting), so the
    /// trainer can move it to the device, add its parameters to the optimizer and checkpoint it;
    /// null (default) when it has none.
    /// </summary>
    nn.Module? AsModule() => null;

    /// <summary>
    /// Elements of the composer's parameters (name relative to <see cref="AsModule"/> → element
    /// indices, <c>null</c> for a whole parameter) that a batch carrying only
    /// <paramref name="presentTasks"/> leaves unused, so the optimizer does not step them. Default: none.
    /// </summary>
    IReadOnlyDictionary<string, long[]?> UnusedParameters(IReadOnlyCollection<string> presentTasks) => new Dictionary<string, long[]?>();

    /// <summary>
    /// Whether <see cref="AfterOptimizerStep"/> needs the batch's losses recomputed after the
    /// optimizer step (FAMO); the trainer then runs one extra forward pass without gradients. Default: false.
    /// </summary>
    bool NeedsLossesAfterStep => false;

    /// <summary>
    /// Called after the optimizer step of every training step with the same batch's task losses
    /// recomputed by the updated model when <see cref="NeedsLossesAfterStep"/>, otherwise with none.
    /// Default: nothing.
    /// </summary>
    /// <param name="lossesAfterStep">Task name → 0-dim loss after the step (no graph); empty unless requested.</param>
    void AfterOptimizerStep(IReadOnlyDictionary<string, Tensor> lossesAfterStep) { }

    /// <summary>Non-tensor state to checkpoint (e.g. loss history), by name. Default: none.</summary>
    IReadOnlyDictionary<string, double[]> SaveState() => new Dictionary<string, double[]>();

    /// <summary>Restores state written by <see cref="SaveState"/>. Default: nothing.</summary>
    void LoadState(IReadOnlyDictionary<string, double[]> state) { }

    /// <summary>
    /// Tensor state to checkpoint (e.g. a per-task P-vector of tracked gradients), by name, in its own
    /// dtype and device; the trainer stores it as tensors in the checkpoint. Default: none.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> SaveTensorState() => new Dictionary<string, Tensor>();

    /// <summary>
    /// Restores tensors written by <see cref="SaveTensorState"/> (CPU tensors the caller disposes: copy what is kept);
    /// an empty dictionary (a checkpoint without tensor state) starts the tracking afresh. Default: nothing.
    /// </summary>
    void LoadTensorState(IReadOnlyDictionary<string, Tensor> state) { }
}
