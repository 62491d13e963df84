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

    /// <summary>
    /// timm's ViT initialisation of a Linear layer (<c>init_weights_vit_timm</c>): weights from a
    /// normal with std 0.02 truncated at ±2 (absolute), biases zero.
    /// </summary>
    internal static void InitLinear(TorchSharp.Modules.Linear linear)
    {
        using var noGrad = no_grad();
        nn.init.trunc_normal_(linear.weight, mean: 0.0, std: 0.02, a: -2.0, b: 2.0);
        if (linear.bias is not null) nn.init.zeros_(linear.bias);
    }
}
