using SpatialNet.Modules;
using TorchSharp;
using TorchSharp.Modules;

namespace SpatialNet.Heads;

/// <summary>Initialisation shared by the text heads, the ViT's (timm) rule: Linear weights trunc-normal(0.02), biases zero; LayerNorms stay 1/0.</summary>
internal static class TextInit
{
    /// <summary>Re-initialises every Linear layer inside <paramref name="module"/>.</summary>
    internal static void Linears(torch.nn.Module module)
    {
        foreach (var (_, child) in module.named_modules())
        {
            if (child is Linear linear)
            {
                TimmInit.Linear(linear);
            }
        }
    }
}
