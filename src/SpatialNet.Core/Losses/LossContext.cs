using TorchSharp.Modules;

namespace SpatialNet.Losses;

/// <summary>Where training stands when losses are composed, and what gradient strategies need.</summary>
public sealed class LossContext
{
    /// <summary>A context with no epoch, step or shared parameters (evaluation, tests).</summary>
    public static LossContext None { get; } = new();

    /// <summary>Epoch index, from 0.</summary>
    public int Epoch { get; init; }

    /// <summary>Optimizer step index, from 0.</summary>
    public long Step { get; init; }

    /// <summary>
    /// Parameters every task's loss depends on (the encoder's). Gradient strategies such as
    /// <see cref="PCGrad"/> operate on these; weighting strategies ignore them.
    /// </summary>
    public IReadOnlyList<Parameter>? SharedParameters { get; init; }

    /// <summary>
    /// The shared representation the task heads read (the encoder's output, with its graph), for gradient
    /// strategies in representation mode (LibMTL's <c>rep_grad</c>); null when the trainer does not provide it.
    /// </summary>
    public TorchSharp.torch.Tensor? Representation { get; init; }
}
