using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// GradDrop (Chen et al., "Just Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign
/// Dropout", NeurIPS 2020, Algorithm 1 lines 10–15), as TorchJD v0.17's GradDrop on the shared
/// parameters: per element p, the sign purity P_p = ½(1 + Σ_t g_tp / Σ_t |g_tp|) and a uniform
/// U_p; task t keeps g_tp when (P_p &gt; U_p and g_tp &gt; 0) or (P_p &lt; U_p and g_tp &lt; 0), and passes
/// the fraction <c>leak</c> of it otherwise. The update is Σ_t of what passes.
/// </summary>
/// <remarks>
/// The draws U come from a generator seeded by (<c>seed</c>, step), so a resumed run draws the same.
/// An element every task leaves at 0 stays 0. There are no combination weights: the reported weight
/// of a task is the share of its squared gradient norm that passed. LibMTL applies GradDrop to the
/// representation's gradients only (with input signs); this is TorchJD's parameter form.
/// </remarks>
internal sealed class GradDropAggregator : GradientAggregator
{
    /// <summary>Options <c>leak</c> (0) and <c>seed</c> (0).</summary>
    public GradDropAggregator(double leak = 0, int seed = 0)
    {
        Leak = Require(leak >= 0 && leak <= 1, leak, "graddrop", "leak", "a number in [0, 1]");
        Seed = seed;
    }

    /// <summary>The share of a dropped gradient that still passes.</summary>
    public double Leak { get; }

    /// <summary>Seed of the uniform draws.</summary>
    public int Seed { get; }

    /// <inheritdoc />
    public override double[] Weights(GradientStep step) =>
        throw new NotSupportedException("GradDrop masks gradient elements; use Update.");

    /// <summary>The uniform draws U of a step, P elements (float64 on the host generator, then moved).</summary>
    public Tensor Draws(long step, long count, ScalarType dtype, Device device)
    {
        using var generator = new Generator(unchecked((ulong)TaskOrders.State(Seed, step, 0x6D)));
        return rand(new[] { count }, ScalarType.Float64, generator: generator).to(dtype).to(device);
    }

    /// <inheritdoc />
    public override Tensor Update(Tensor jacobian, GradientStep step, out double[] applied)
    {
        ArgumentNullException.ThrowIfNull(jacobian);
        ArgumentNullException.ThrowIfNull(step);
        using var scope = NewDisposeScope();
        var absSum = jacobian.abs().sum(dim: 0);
        var purity = 0.5 * (1 + jacobian.sum(dim: 0) / where(absSum > 0, absSum, ones_like(absSum)));
        var u = Draws(step.Step, jacobian.shape[1], jacobian.dtype, jacobian.device);
        var keep = ((purity > u).unsqueeze(0) & (jacobian > 0)) | ((purity < u).unsqueeze(0) & (jacobian < 0));
        var factor = keep.to(jacobian.dtype).mul(1 - Leak).add(Leak);
        var passed = jacobian.mul(factor);
        var shares = (passed * jacobian).sum(1) / (jacobian.square().sum(1) + 1e-300);
        applied = shares.to(ScalarType.Float64).cpu().data<double>().ToArray();
        return passed.sum(dim: 0).MoveToOuterDisposeScope();
    }
}

/// <summary>Settings of <see cref="GradDropAggregator"/> (configuration <c>loss:graddrop</c>).</summary>
internal sealed class GradDropOptions : GradientStrategyOptions, ISeededComposerOptions
{
    /// <summary>The share of a dropped gradient that still passes, in [0, 1]. Default 0.</summary>
    public double Leak { get; set; }

    /// <summary>Seed of the uniform draws.</summary>
    public int Seed { get; set; }

    /// <inheritdoc />
    protected override void CollectErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!(Leak >= 0 && Leak <= 1))
            errors.Add(Message(nameof(Leak), Leak, "a number in [0, 1]"));
    }
}
