using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Models;

/// <summary>Small encoders and models that run in milliseconds on a CPU.</summary>
internal static class TinyModels
{
    public static VisionTransformerOptions EncoderOptions(bool classToken = true) => new()
    {
        ImageSize = 16, PatchSize = 4, EmbedDim = 16, Depth = 2, NumHeads = 2,
        ClassToken = classToken, GlobalPool = classToken ? GlobalPool.Token : GlobalPool.Average,
    };

    /// <summary>Classification (class token), counting (mean pooling), multi-label (attention pooling).</summary>
    public static MultiTaskModel Create(IImageEncoder? encoder = null)
    {
        encoder ??= new VisionTransformer(EncoderOptions());
        var layout = TokenLayout.Of(encoder);
        return new MultiTaskModel(encoder,
        [
            new ClassificationHead("land_use", layout, new ClassificationHeadOptions { NumClasses = 4, Pooling = PoolingKind.ClassToken, LabelSmoothing = 0.1 }),
            new RegressionHead("building_count", layout, new RegressionHeadOptions { Pooling = PoolingKind.Mean, TargetMean = 5, TargetStd = 2 }),
            new MultiLabelHead("objects", layout, new MultiLabelHeadOptions { NumLabels = 3, Pooling = PoolingKind.Attention, AttentionPoolHeads = 2 }),
        ]);
    }

    /// <summary>A batch of random images and targets for <see cref="Create"/>'s tasks.</summary>
    public static (Tensor Images, Dictionary<string, Tensor> Targets) Batch(int batch = 4) =>
        (randn(batch, 3, 16, 16), new Dictionary<string, Tensor>
        {
            ["land_use"] = randint(0, 4, [batch]),
            ["building_count"] = randint(0, 10, [batch]).to(float32),
            ["objects"] = randint(0, 2, [batch, 3]).to(float32),
        });
}

/// <summary>Wraps an encoder and counts <see cref="ForwardFeatures"/> calls.</summary>
internal sealed class CountingEncoder(IImageEncoder inner) : IImageEncoder
{
    public int Calls { get; private set; }

    public int EmbedDim => inner.EmbedDim;

    public int NumPrefixTokens => inner.NumPrefixTokens;

    public Tensor ForwardFeatures(Tensor images)
    {
        Calls++;
        return inner.ForwardFeatures(images);
    }

    public nn.Module AsModule() => inner.AsModule();
}
