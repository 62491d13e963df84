using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// Geometric loss strategy: Chennupati et al., "MultiNet++", CVPR Workshops 2019 (LibMTL's GLS,
/// TorchJD's GeometricMean): (Π_t L_t)^(1/T) = exp(mean_t log L_t) over the present tasks. The
/// reported weight is its derivative (Π L)^(1/T)/(T·L_t). Losses must be positive.
/// </summary>
internal sealed class GeometricLossStrategy : ILossComposer
{
    /// <inheritdoc />
    public string Name => "gls";

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, Name);
        var tasks = taskLosses.Keys.ToArray();
        var losses = stack(tasks.Select(t => taskLosses[t]).ToArray());
        var total = losses.log().mean().exp();
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (no_grad())
        {
            var derivative = total.detach() / (tasks.Length * losses.detach());
            for (int i = 0; i < tasks.Length; i++)
                weights[tasks[i]] = derivative[i];
        }

        return new ComposedLoss(total, taskLosses, weights);
    }
}
