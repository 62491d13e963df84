using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// Per-channel learned scaling of a residual branch (Touvron et al., 2021, "Going deeper with Image
/// Transformers", CaiT): <c>x · γ</c> with γ initialised to a small constant. State-dict name:
/// <c>gamma</c> [D], as timm's <c>LayerScale</c>.
/// </summary>
public sealed class LayerScale : nn.Module<Tensor, Tensor>
{
    private readonly Parameter gamma;

    /// <summary>Creates the module with γ = <paramref name="initValue"/> on every channel.</summary>
    /// <param name="dim">Channel count D.</param>
    /// <param name="initValue">Initial value of every γ entry (timm: e.g. 1e-5).</param>
    public LayerScale(int dim, double initValue) : base(nameof(LayerScale))
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "dim must be positive.");
        gamma = new Parameter(full(dim, initValue));
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => x * gamma;
}
