using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// Stochastic depth (Huang et al., 2016, "Deep Networks with Stochastic Depth"): in training, drops
/// the whole residual branch of each sample with probability <c>p</c> and scales kept samples by
/// 1/(1−p), so the expectation is unchanged; the identity in evaluation. Same rule as timm's
/// <c>DropPath</c> with <c>scale_by_keep=True</c>.
/// </summary>
public sealed class DropPath : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the module.</summary>
    /// <param name="dropProbability">Probability in [0, 1) that a sample's branch is dropped.</param>
    public DropPath(double dropProbability) : base(nameof(DropPath))
    {
        if (!(dropProbability >= 0.0 && dropProbability < 1.0))
            throw new ArgumentOutOfRangeException(nameof(dropProbability), dropProbability, "The drop probability must be in [0, 1).");
        DropProbability = dropProbability;
        RegisterComponents();
    }

    /// <summary>Probability that a sample's residual branch is dropped during training.</summary>
    public double DropProbability { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        if (!training || DropProbability == 0.0)
            return x.alias();
        using var scope = NewDisposeScope();
        double keep = 1.0 - DropProbability;
        // One Bernoulli draw per sample, broadcast over all other dimensions.
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[0] = x.shape[0];
        var mask = empty(shape, dtype: x.dtype, device: x.device).bernoulli_(keep).div_(keep);
        return (x * mask).MoveToOuterDisposeScope();
    }
}
