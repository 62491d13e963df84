using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// A module whose listed parameters take neither weight decay nor the L2 term (timm's
/// <c>no_weight_decay()</c>: position embeddings, class tokens, learned queries).
/// </summary>
public interface IHasNoWeightDecay
{
    /// <summary>Names of this module's own parameters (relative to the module) to leave undecayed.</summary>
    IReadOnlyCollection<string> NoWeightDecay();
}

/// <summary>
/// The one parameter-selection rule of weight decay and of the L2 term, timm's
/// (<c>param_groups_weight_decay</c>): a parameter is left out when it has at most one dimension
/// (biases, norm scales and shifts, LayerScale γ, the uncertainty log-variances) or when a module
/// lists it in <see cref="IHasNoWeightDecay.NoWeightDecay"/>.
/// </summary>
public static class NoWeightDecay
{
    /// <summary>Full names (under <paramref name="root"/>) of the parameters modules list in <see cref="IHasNoWeightDecay.NoWeightDecay"/>.</summary>
    public static IReadOnlySet<string> ListedNames(nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (prefix, module) in root.named_modules())
        {
            if (module is not IHasNoWeightDecay listing)
                continue;
            foreach (var name in listing.NoWeightDecay())
                names.Add(prefix.Length == 0 ? name : prefix + "." + name);
        }
        if (root is IHasNoWeightDecay self)
        {
            foreach (var name in self.NoWeightDecay())
                names.Add(name);
        }
        return names;
    }

    /// <summary>
    /// The rule for the parameters of <paramref name="root"/>: true for a parameter (full name under
    /// <paramref name="root"/>, tensor) that takes no weight decay and no L2 term.
    /// </summary>
    public static Func<string, Parameter, bool> For(nn.Module root)
    {
        var listed = ListedNames(root);
        return (name, parameter) => parameter.dim() <= 1 || listed.Contains(name);
    }
}
