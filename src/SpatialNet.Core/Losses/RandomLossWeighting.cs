using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// Random loss weighting: Lin et al., "Reasonable Effectiveness of Random Weighting: A Litmus Test
/// for Multi-Task Learning", TMLR 2022 (LibMTL's RLW, TorchJD's Random): each step
/// w = softmax(z), z ~ N(0, I) over the present tasks; Σ_t w_t·L_t.
/// </summary>
/// <remarks>The draws are functions of (<c>seed</c>, step) alone, so a resumed run draws what the uninterrupted one would.</remarks>
internal sealed class RandomLossWeighting(int seed = 0) : ILossComposer
{
    /// <inheritdoc />
    public string Name => "rlw";

    /// <summary>Seed of the draws.</summary>
    public int Seed { get; } = seed;

    /// <summary>The weights of a step with <paramref name="count"/> tasks.</summary>
    public double[] WeightsAt(long step, int count)
    {
        var z = TaskOrders.Normal(Seed, step, count);
        double max = z.Max();
        var e = z.Select(x => Math.Exp(x - max)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    /// <inheritdoc />
    public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
    {
        LossChecks.RequireTaskLosses(taskLosses, Name);
        ArgumentNullException.ThrowIfNull(context);
        var w = WeightsAt(context.Step, taskLosses.Count);
        var used = taskLosses.Keys.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => w[p.i], StringComparer.Ordinal);
        return new ComposedLoss(WeightedSum.Sum(taskLosses, used), taskLosses, used);
    }
}

/// <summary>Settings of <see cref="RandomLossWeighting"/> (configuration <c>loss:rlw</c>).</summary>
internal sealed class RandomLossWeightingOptions : LossComposerOptions, ISeededComposerOptions
{
    /// <summary>Seed of the normal draws.</summary>
    public int Seed { get; set; } = 0;
}
