using SpatialNet.Modules;
using SpatialNet.Weights;

namespace SpatialNet.Core.Tests.Weights;

/// <summary>The timm reference checkpoint in Fixtures/timm (provenance in its README).</summary>
internal static class TimmFixture
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "Fixtures", "timm");
    public static string Safetensors => Path.Combine(Dir, "vit_tiny.safetensors");
    public static string PyTorch => Path.Combine(Dir, "vit_tiny.pth");
    public static string Io => Path.Combine(Dir, "io.safetensors");

    /// <summary>The configuration the fixture was made with: timm VisionTransformer(img_size=32,
    /// patch_size=8, in_chans=3, num_classes=10, embed_dim=64, depth=2, num_heads=4, mlp_ratio=4, global_pool='token').</summary>
    public static VisionTransformerOptions Options() => new()
    {
        ImageSize = 32, PatchSize = 8, InChannels = 3, NumClasses = 10, EmbedDim = 64,
        Depth = 2, NumHeads = 4, MlpRatio = 4, GlobalPool = GlobalPool.Token,
    };

    /// <summary>x [2,3,32,32], y [2,10] logits, feat [2,17,64] tokens, as timm computed them.</summary>
    public static StateDict ReadIo() => StateDictFile.Read(Io);
}
