using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SpatialNet.Modules;

/// <summary>
/// timm's weight initialisation helpers. <see cref="TruncNormal_"/> exists because TorchSharp 0.107's
/// <c>nn.init.trunc_normal_</c> fills the tensor with a constant instead of samples.
/// </summary>
internal static class TimmInit
{
    /// <summary>
    /// Fills <paramref name="tensor"/> in place with samples of N(<paramref name="mean"/>, <paramref name="std"/>²)
    /// truncated to [<paramref name="a"/>, <paramref name="b"/>] (absolute bounds, as PyTorch's and timm's
    /// <c>trunc_normal_</c>), by inverse-CDF sampling: u ~ U(Φ(α), Φ(β)), x = mean + std·√2·erfinv(2u − 1).
    /// </summary>
    /// <returns>The same tensor.</returns>
    public static Tensor TruncNormal_(Tensor tensor, double mean = 0.0, double std = 0.02, double a = -2.0, double b = 2.0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(std > 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "std must be positive.");
        if (!(a < b)) throw new ArgumentException($"The lower bound a = {a} must be below the upper bound b = {b}.");
        using var noGrad = no_grad();
        double lower = NormalCdf((a - mean) / std), upper = NormalCdf((b - mean) / std);
        tensor.uniform_(2 * lower - 1, 2 * upper - 1);
        tensor.erfinv_();
        tensor.mul_(std * Math.Sqrt(2.0));
        tensor.add_(mean);
        tensor.clamp_(a, b);
        return tensor;
    }

    /// <summary>timm's ViT initialisation of a Linear layer (<c>init_weights_vit_timm</c>): weights trunc-normal(0, 0.02) within ±2, bias zero.</summary>
    public static void Linear(Linear linear)
    {
        ArgumentNullException.ThrowIfNull(linear);
        TruncNormal_(linear.weight!, 0.0, 0.02);
        if (linear.bias is not null)
        {
            using var noGrad = no_grad();
            linear.bias.zero_();
        }
    }

    private static double NormalCdf(double x)
    {
        using var t = torch.tensor(x / Math.Sqrt(2.0), dtype: ScalarType.Float64);
        using var e = t.erf();
        return (1.0 + e.item<double>()) / 2.0;
    }
}
