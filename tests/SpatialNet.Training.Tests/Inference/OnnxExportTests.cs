using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using SpatialNet.Heads;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Inference;
using SpatialNet.Training.Transforms;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Inference;

/// <summary>
/// The exported graph, run by ONNX Runtime (the independent reference), equals the TorchSharp model
/// (training normalisation transform, encoder, heads, inference transforms) within 1e-5 on the CPU.
/// </summary>
public sealed class OnnxExportTests
{
    public static TheoryData<string, int, int, int, int, bool, PoolingKind, string> Shapes => new()
    {
        // name, image, patch, channels, depth, class token, pooling of the heads, extras
        { "class token, 1 block", 32, 8, 3, 1, true, PoolingKind.ClassToken, "" },
        { "mean pooling, 2 blocks, 4 bands", 32, 16, 4, 2, false, PoolingKind.Mean, "" },
        { "attention pooling, patch 4, 1 band", 16, 4, 1, 2, true, PoolingKind.Attention, "" },
        { "mean pooling with class token, qk-norm, LayerScale, pooled norm", 24, 8, 3, 3, true, PoolingKind.Mean, "qknorm,layerscale,pooled_norm" },
        { "relu MLP, no qkv bias", 32, 8, 2, 2, false, PoolingKind.Attention, "relu,no_qkv_bias" },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OnnxRuntime_equals_TorchSharp(string name, int image, int patch, int channels, int depth, bool classToken, PoolingKind pooling, string extras)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(11);
        var encoder = new VisionTransformer(new VisionTransformerOptions
        {
            ImageSize = image,
            PatchSize = patch,
            InChannels = channels,
            EmbedDim = 24,
            Depth = depth,
            NumHeads = 3,
            ClassToken = classToken,
            GlobalPool = classToken ? GlobalPool.Token : GlobalPool.Average,
            QkNorm = extras.Contains("qknorm", StringComparison.Ordinal),
            LayerScaleInit = extras.Contains("layerscale", StringComparison.Ordinal) ? 0.5 : null,
            Activation = extras.Contains("relu", StringComparison.Ordinal) ? MlpActivation.Relu : MlpActivation.Gelu,
            QkvBias = !extras.Contains("no_qkv_bias", StringComparison.Ordinal),
        });
        var layout = TokenLayout.Of(encoder);
        bool pooledNorm = extras.Contains("pooled_norm", StringComparison.Ordinal);
        using var model = new MultiTaskModel(encoder,
        [
            new ClassificationHead("land_use", layout, new ClassificationHeadOptions { NumClasses = 5, Pooling = pooling, PooledNorm = pooledNorm, AttentionPoolHeads = 3 }),
            new RegressionHead("count", layout, new RegressionHeadOptions { Outputs = 2, TargetMeans = [3.5, -1.0], TargetStds = [2.25, 0.5], Pooling = pooling, AttentionPoolHeads = 3 }),
            new MultiLabelHead("presence", layout, new MultiLabelHeadOptions { NumLabels = 4, Pooling = pooling, AttentionPoolHeads = 3 }),
        ]);
        // Give biases and norms non-default values so that every weight matters.
        using (no_grad())
        {
            foreach (var p in model.parameters())
                p.add_(torch.randn_like(p) * 0.05);
        }
        model.eval();
        var mean = Enumerable.Range(0, channels).Select(c => 0.3 + 0.1 * c).ToArray();
        var std = Enumerable.Range(0, channels).Select(c => 0.2 + 0.05 * c).ToArray();
        var bytes = OnnxExporter.ToBytes(model, new OnnxExportOptions { Mean = mean, Std = std });

        const int batch = 3;
        var pixels = torch.randint(0, 256, [batch, channels, image, image], dtype: ScalarType.Byte);
        // TorchSharp: the training batch transform (Normalize of uint8 images), then the model and each head's Predict.
        var batchData = new SpatialNet.Training.Data.Batch();
        batchData.Set(SpatialNet.Training.Data.SampleKeys.Image, pixels.clone());
        using (var normalize = new Normalize(mean, std))
            normalize.Apply(batchData);
        Dictionary<string, float[]> expected;
        using (no_grad())
        {
            var raw = model.Forward(batchData[SpatialNet.Training.Data.SampleKeys.Image]);
            expected = model.Predict(raw).ToDictionary(kv => kv.Key, kv => kv.Value.reshape(-1).data<float>().ToArray());
        }

        using var session = new InferenceSession(bytes);
        var input = pixels.to(ScalarType.Float32).contiguous().data<float>().ToArray();
        using var value = OrtValue.CreateTensorValueFromMemory(input, [batch, channels, image, image]);
        using var results = session.Run(new RunOptions(), ["image"], [value], ["land_use", "count", "presence"]);
        var names = new[] { "land_use", "count", "presence" };
        for (int i = 0; i < names.Length; i++)
        {
            var actual = results[i].GetTensorDataAsSpan<float>().ToArray();
            actual.Should().HaveCount(expected[names[i]].Length, $"{name}: {names[i]}");
            for (int j = 0; j < actual.Length; j++)
                actual[j].Should().BeApproximately(expected[names[i]][j], 1e-5f, $"{name}: {names[i]}[{j}]");
        }
        session.InputMetadata["image"].Dimensions.Should().Equal(-1, channels, image, image);
        session.ModelMetadata.CustomMetadataMap.Should().ContainKey("spatialnet.tasks");
    }

    [Fact]
    public void Heads_that_need_text_are_refused_by_name()
    {
        using var scope = NewDisposeScope();
        var encoder = new VisionTransformer(new VisionTransformerOptions { ImageSize = 16, PatchSize = 8, EmbedDim = 8, Depth = 1, NumHeads = 2 });
        using var model = new MultiTaskModel(encoder, [new ClassificationHead("a", TokenLayout.Of(encoder), new ClassificationHeadOptions { NumClasses = 2 })]);
        var act = () => OnnxExporter.ToBytes(model, new OnnxExportOptions { Tasks = ["b"] });
        act.Should().Throw<KeyNotFoundException>().WithMessage("*'b'*");
    }
}
