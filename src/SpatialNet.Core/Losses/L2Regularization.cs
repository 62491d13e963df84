using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// The paper's L2 term, Eq. (10–11): L_final = L_MTL + λ_reg·½·Σ_{θ∈S} θ², with λ_reg = 0.01 by
/// default, over a configurable parameter set S.
/// </summary>
/// <remarks>
/// <para>
/// <b>Which parameters.</b> By default (<see cref="DefaultSelection"/>) S holds the weight matrices
/// and convolution kernels, and leaves out biases, normalisation weights (every 1-D parameter),
/// position embeddings (<c>pos_embed</c>), class/register tokens (<c>cls_token</c>, <c>reg_token</c>)
/// and learned pooling queries (<c>latent</c>): shrinking those toward zero does not limit capacity,
/// it only moves offsets, scales and positions away from what the data says. Pass another predicate
/// to change S; <see cref="SelectParameters"/> lists what is selected.
/// </para>
/// <para>
/// <b>This is not decoupled weight decay.</b> Here the penalty is part of the loss, so its gradient
/// λ_reg·θ goes through the optimizer like any other gradient. With plain SGD that equals weight
/// decay of λ_reg·lr per step, but with Adam the gradient is divided by the running √v, so weights
/// with large gradient history are barely regularised and rarely-updated ones strongly. AdamW
/// (Loshchilov and Hutter, ICLR 2019) instead shrinks θ ← θ − lr·wd·θ outside the adaptive update,
/// uniformly for every parameter. The two give different models for the same coefficient; the
/// paper's Eq. (10–11) is this L2 term, and its value shows up in the reported loss (penalty
/// <c>"l2"</c>), which decay never does. To use AdamW instead, set λ_reg = 0 and configure decay in
/// the optimizer.
/// </para>
/// </remarks>
public sealed class L2Regularization
{
    /// <summary>The paper's λ_reg.</summary>
    public const double PaperLambda = 0.01;

    /// <summary>Name of the penalty in <see cref="ComposedLoss.Penalties"/>.</summary>
    public const string PenaltyName = "l2";

    private static readonly string[] ExcludedNames = ["pos_embed", "cls_token", "reg_token", "dist_token", "latent"];

    private readonly Func<string, Parameter, bool> selection;

    /// <summary>Creates the term.</summary>
    /// <param name="lambda">λ_reg ≥ 0; 0 turns the term off. Default 0.01 (the paper).</param>
    /// <param name="selection">
    /// Predicate over (full parameter name, parameter) choosing S; null uses <see cref="DefaultSelection"/>.
    /// Frozen parameters (<c>requires_grad = false</c>) are never selected.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lambda"/> is negative or not finite.</exception>
    public L2Regularization(double lambda = PaperLambda, Func<string, Parameter, bool>? selection = null)
    {
        if (!(lambda >= 0) || double.IsInfinity(lambda))
        {
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "L2 coefficient λ_reg must be a finite number >= 0 (paper: 0.01).");
        }

        Lambda = lambda;
        this.selection = selection ?? DefaultSelection;
    }

    /// <summary>λ_reg.</summary>
    public double Lambda { get; }

    /// <summary>
    /// The default parameter set: parameters with at least 2 dimensions whose dotted name has no
    /// segment <c>bias</c>, no segment containing <c>norm</c> (<c>norm</c>, <c>norm1</c>,
    /// <c>fc_norm</c>, <c>q_norm</c>), and contains none of <c>pos_embed</c>, <c>cls_token</c>,
    /// <c>reg_token</c>, <c>dist_token</c>, <c>latent</c>.
    /// </summary>
    public static bool DefaultSelection(string name, Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(parameter);
        if (parameter.dim() < 2)
        {
            return false; // biases, LayerNorm/BatchNorm weights, LayerScale gammas
        }

        var segments = name.Split('.');
        if (segments.Any(s => s == "bias" || s.Contains("norm", StringComparison.Ordinal)))
        {
            return false;
        }

        return !ExcludedNames.Any(x => name.Contains(x, StringComparison.Ordinal));
    }

    /// <summary>The parameters of <paramref name="module"/> the term covers, with their full names.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> SelectParameters(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module.named_parameters()
            .Where(p => p.parameter.requires_grad && selection(p.name, p.parameter))
            .Select(p => (p.name, p.parameter))
            .ToArray();
    }

    /// <summary>λ_reg·½·Σ θ² over the selected parameters of <paramref name="module"/>, a 0-dim tensor with its graph.</summary>
    /// <exception cref="InvalidOperationException">λ_reg &gt; 0 but no parameter is selected.</exception>
    public Tensor Compute(nn.Module module)
    {
        var selected = SelectParameters(module);
        if (selected.Count == 0)
        {
            if (Lambda > 0)
            {
                throw new InvalidOperationException(
                    $"L2Regularization (λ_reg = {Lambda}) selects no parameter of {module.GetType().Name}; check the selection predicate.");
            }

            return zeros(Array.Empty<long>());
        }

        using var scope = NewDisposeScope();
        var sum = stack(selected.Select(p => p.Parameter.square().sum()).ToArray()).sum();
        return (sum * (0.5 * Lambda)).MoveToOuterDisposeScope();
    }

    /// <summary>Adds the term of <paramref name="module"/> to <paramref name="loss"/> as penalty <c>"l2"</c> (nothing when λ_reg = 0).</summary>
    /// <returns><paramref name="loss"/>, for chaining.</returns>
    public ComposedLoss ApplyTo(ComposedLoss loss, nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(loss);
        return Lambda == 0 ? loss : loss.AddPenalty(PenaltyName, Compute(module));
    }
}
