using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>Small factories shared by the modules: switched-off features become identities.</summary>
internal static class Layers
{
    /// <summary>Dropout, or an identity when the rate is 0 (so <c>forward</c> stays branch-free).</summary>
    internal static nn.Module<Tensor, Tensor> Dropout(double rate) =>
        rate > 0.0 ? nn.Dropout(rate) : nn.Identity();

    /// <summary>timm's LayerNorm (eps 1e-6 unless configured).</summary>
    internal static nn.Module<Tensor, Tensor> LayerNorm(int dim, double eps) => nn.LayerNorm(dim, eps);

}
