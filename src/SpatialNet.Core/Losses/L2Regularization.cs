using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Losses;

/// <summary>
/// The paper's L2 term, Eq. (10–11): L_final = L_MTL + λ_reg·½·Σ_{θ∈S} θ², with λ_reg = 0.01 by
/// default. S is every trainable parameter that <see cref="NoWeightDecay"/> (timm's rule, the same
/// one weight decay uses) does not exclude, unless a selection predicate replaces it.
/// </summary>
/// <remarks>
/// This is a loss term, not AdamW's decoupled weight decay: its gradient λ_reg·θ is divided by
/// Adam's √v like any other gradient. Σθ² is accumulated in float32 whatever the parameters' dtype.
/// docs/architecture.md explains the difference and why the trainer refuses both at once by default.
/// </remarks>
public sealed class L2Regularization
{
    /// <summary>The paper's λ_reg.</summary>
    public const double PaperLambda = 0.01;

    /// <summary>Name of the penalty in <see cref="ComposedLoss.Penalties"/>.</summary>
    public const string PenaltyName = "l2";

    private readonly Func<string, Parameter, bool>? selection;
    private nn.Module? cachedModule;
    private Func<string, Parameter, bool>? cachedRule;

    /// <summary>Creates the term.</summary>
    /// <param name="lambda">λ_reg ≥ 0; 0 turns the term off. Default 0.01 (the paper).</param>
    /// <param name="selection">
    /// Predicate over (full parameter name, parameter) choosing S; null uses the module's
    /// <see cref="NoWeightDecay"/> rule (S = what it does not exclude). Frozen parameters are never selected.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lambda"/> is negative or not finite.</exception>
    public L2Regularization(double lambda = PaperLambda, Func<string, Parameter, bool>? selection = null)
    {
        if (!(lambda >= 0) || double.IsInfinity(lambda))
        {
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "L2 coefficient λ_reg must be a finite number >= 0 (paper: 0.01).");
        }

        Lambda = lambda;
        this.selection = selection;
    }

    /// <summary>λ_reg.</summary>
    public double Lambda { get; }

    /// <summary>True when a predicate replaces the default selection.</summary>
    public bool HasCustomSelection => selection is not null;

    /// <summary>The parameters of <paramref name="module"/> the term covers, with their full names.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> SelectParameters(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var select = selection ?? DefaultFor(module);
        return module.named_parameters()
            .Where(p => p.parameter.requires_grad && select(p.name, p.parameter))
            .Select(p => (p.name, p.parameter))
            .ToArray();
    }

    /// <summary>λ_reg·½·Σ θ² over the selected parameters of <paramref name="module"/>, a float32 0-dim tensor with its graph.</summary>
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
        // Squares and sums in float32: a bfloat16 sum of many squares loses most of its digits.
        var sum = stack(selected.Select(p => p.Parameter.to(ScalarType.Float32).square().sum()).ToArray()).sum();
        return (sum * (0.5 * Lambda)).MoveToOuterDisposeScope();
    }

    /// <summary>Adds the term of <paramref name="module"/> to <paramref name="loss"/> as penalty <c>"l2"</c> (nothing when λ_reg = 0).</summary>
    /// <returns><paramref name="loss"/>, for chaining.</returns>
    public ComposedLoss ApplyTo(ComposedLoss loss, nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(loss);
        return Lambda == 0 ? loss : loss.AddPenalty(PenaltyName, Compute(module));
    }

    private Func<string, Parameter, bool> DefaultFor(nn.Module module)
    {
        // The listed names depend only on the module tree: computed once per module.
        if (!ReferenceEquals(cachedModule, module) || cachedRule is null)
        {
            var excluded = NoWeightDecay.For(module);
            cachedRule = (name, parameter) => !excluded(name, parameter);
            cachedModule = module;
        }

        return cachedRule;
    }
}
