using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using SpatialNet.Heads;
using SpatialNet.Heads.Dense;
using SpatialNet.Models;
using SpatialNet.Modules;
using SpatialNet.Training.Inference;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Inference;

/// <summary>
/// Per-pixel heads (linear and SETR-MLA decoders) in the exported graph, run by ONNX Runtime (the independent
/// reference), equal the TorchSharp model's per-pixel probabilities and values within 1e-5 on the CPU.
/// </summary>
public sealed class OnnxDenseExportTests
{
    public static TheoryData<string, string, int, int, bool, bool> Shapes => new()
    {
        // name, decoder, image, patch, class token, average pooling with fc_norm
        { "linear, class token", "linear", 32, 8, true, false },
        { "linear, fc_norm, patch 4", "linear", 16, 4, false, true },
        { "mla, class token, patch 8 (×2 after ×4)", "mla", 32, 8, true, false },
        { "mla, patch 2 (×0.5 after ×4)", "mla", 16, 2, false, false },
        { "mla, fc_norm, patch 4", "mla", 16, 4, false, true },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OnnxRuntime_equals_TorchSharp_per_pixel(string name, string decoder, int image, int patch, bool classToken, bool fcNorm)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        const int channels = 3;
        var encoder = new VisionTransformer(new VisionTransformerOptions
        {
            ImageSize = image,
            PatchSize = patch,
            InChannels = channels,
            EmbedDim = 12,
            Depth = 3,
            NumHeads = 2,
            ClassToken = classToken,
            GlobalPool = classToken ? GlobalPool.Token : GlobalPool.Average,
            FcNorm = fcNorm,
        });
        var layout = TokenLayout.Of(encoder);
        IReadOnlyList<int>? levels = decoder == "mla" ? [0, -2, -1] : null;
        using var model = new MultiTaskModel(encoder,
        [
            new SegmentationHead("land", layout, new SegmentationHeadOptions { NumClasses = 4, Decoder = decoder, Levels = levels, DecoderChannels = 6 }, patch),
            new PixelRegressionHead("height", layout, new PixelRegressionHeadOptions { Outputs = 2, TargetMean = 3.5, TargetStd = 2.25, Decoder = decoder, Levels = levels, DecoderChannels = 4 }, patch),
            new ClassificationHead("scene", layout, new ClassificationHeadOptions { NumClasses = 3 }),
        ]);
        using (no_grad())
        {
            foreach (var p in model.parameters())
                p.add_(torch.randn_like(p) * 0.05);
        }
        model.eval();
        var mean = new[] { 0.4, 0.5, 0.3 };
        var std = new[] { 0.2, 0.25, 0.3 };
        var bytes = OnnxExporter.ToBytes(model, new OnnxExportOptions { Mean = mean, Std = std });

        const int batch = 2;
        var pixels = torch.randint(0, 256, [batch, channels, image, image], dtype: ScalarType.Float32);
        // TorchSharp reference: x/255, (x − mean)/std, the model and each head's Predict.
        var normalized = (pixels / 255 - tensor(mean.Select(v => (float)v).ToArray()).reshape(1, 3, 1, 1)) / tensor(std.Select(v => (float)v).ToArray()).reshape(1, 3, 1, 1);
        Dictionary<string, float[]> expected;
        using (no_grad())
            expected = model.Predict(model.Forward(normalized)).ToDictionary(kv => kv.Key, kv => kv.Value.contiguous().reshape(-1).data<float>().ToArray());

        using var session = new InferenceSession(bytes);
        var input = pixels.contiguous().data<float>().ToArray();
        using var value = OrtValue.CreateTensorValueFromMemory(input, [batch, channels, image, image]);
        var names = new[] { "land", "height", "scene" };
        using var results = session.Run(new RunOptions(), ["image"], [value], names);
        for (int i = 0; i < names.Length; i++)
        {
            var actual = results[i].GetTensorDataAsSpan<float>().ToArray();
            actual.Should().HaveCount(expected[names[i]].Length, $"{name}: {names[i]}");
            for (int j = 0; j < actual.Length; j++)
                actual[j].Should().BeApproximately(expected[names[i]][j], 1e-5f, $"{name}: {names[i]}[{j}]");
        }
        session.OutputMetadata["land"].Dimensions.Should().Equal(-1, 4, image, image);
        session.OutputMetadata["height"].Dimensions.Should().Equal(-1, 2, image, image);
        // Softmax over the class axis: each pixel's probabilities sum to 1 (a property independent of the weights).
        var land = results[0].GetTensorDataAsSpan<float>().ToArray();
        for (int b = 0; b < batch; b++)
            for (int px = 0; px < image * image; px++)
                Enumerable.Range(0, 4).Sum(c => land[(b * 4 + c) * image * image + px]).Should().BeApproximately(1f, 1e-5f);
        session.ModelMetadata.CustomMetadataMap["spatialnet.tasks"].Should().Contain("class probabilities per pixel");
    }
}
