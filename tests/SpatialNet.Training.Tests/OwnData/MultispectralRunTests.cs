using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Inference;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using Xunit;

namespace SpatialNet.Training.Tests.OwnData;

/// <summary>16-bit, 4-band chips trained with two of their bands and per-band input ranges; predict and scene mapping reuse them.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class MultispectralRunTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // Band 4 (c = 3) = 3000 + 4000·k + 10·y, band 2 (c = 1) = 500 + 700·k + 3·x, the other bands 60000 (outside any range used);
    // every chip of a class alike, so the training split's statistics do not depend on which chips it holds.
    private static int Value(int k, int c, int y, int x) => c switch { 3 => 3000 + 4000 * k + 10 * y, 1 => 500 + 700 * k + 3 * x, _ => 60000 };

    internal static string WriteChips(string root)
    {
        ChipFolder.Write(root, ["bare", "water"], [5, 5], 32, 4, 16, (k, i, c, y, x) => Value(k, c, y, x));
        return root;
    }

    internal static string[] Multispectral(string chips) =>
    [
        $"data:sources:0:path={chips}", "data:sources:0:test_fraction=0", "model:in_channels=2",
        "data:sources:0:bands:0=4", "data:sources:0:bands:1=2",
        "data:sources:0:input_range:0:0=0", "data:sources:0:input_range:0:1=10000",
        "data:sources:0:input_range:1:0=0", "data:sources:0:input_range:1:1=2000",
    ];

    [Fact]
    public void Sixteen_bit_bands_train_at_native_precision_and_the_run_reads_images_and_scenes_alike()
    {
        var chips = WriteChips(_dir.Combine("chips"));
        var output = _dir.Combine("run");
        var config = SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. ImageFolderRunTests.Small(output), .. Multispectral(chips)], environment: false);

        TrainingPipeline.Run(config);

        // Per-band statistics of v/range over 4 training chips per class (val_fraction 0.2 of 5 holds one out):
        // band 4: mean (3000 + 4000·½ + 10·15.5)/10000, variance (4000²·¼ + 10²·(32² − 1)/12)/10000²;
        // band 2: mean (500 + 700·½ + 3·15.5)/2000,  variance (700²·¼ + 3²·(32² − 1)/12)/2000².
        double[] mean = [5155.0 / 10000, 896.5 / 2000];
        double[] std = [Math.Sqrt(4000.0 * 4000 / 4 + 100 * 85.25) / 10000, Math.Sqrt(700.0 * 700 / 4 + 9 * 85.25) / 2000];
        var source = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "data.json")))!["sources"]![0]!;
        source["normalization"]!["mean"]!.AsArray().Select(v => v!.GetValue<double>()).Should().Equal(mean, (a, b) => Math.Abs(a - b) < 1e-6,
            "float32 unit values; 8-bit caching (v/257) would move the means by up to 1/510");
        source["normalization"]!["std"]!.AsArray().Select(v => v!.GetValue<double>()).Should().Equal(std, (a, b) => Math.Abs(a - b) < 1e-6);
        source["bands"]!.AsArray().Select(v => v!.GetValue<int>()).Should().Equal(4, 2);
        source["input_range"]!.ToJsonString().Should().Be("[[0,10000],[0,2000]]");

        using var predictor = Predictor.Open(output);
        var chip = Path.Combine(chips, "water", "water_000.tif");
        var image = predictor.LoadImage(chip);
        image.Channels.Should().Be(2, "the run's bands 4 and 2");
        image.BitsPerSample.Should().Be(16);
        image[0, 7, 5].Should().Be(Value(1, 3, 7, 5));
        image[1, 7, 5].Should().Be(Value(1, 1, 7, 5));

        // The model's input on the 0–255 scale, by hand: v/10000·255 for band 4, v/2000·255 for band 2, unrounded.
        var pixels = new float[2 * 32 * 32];
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
            {
                pixels[y * 32 + x] = (float)(Value(1, 3, y, x) / 10000.0 * 255);
                pixels[1024 + y * 32 + x] = (float)(Value(1, 1, y, x) / 2000.0 * 255);
            }
        var byHand = predictor.Predict(pixels, 1)[0]["land_use"].Values;
        predictor.Predict(image)["land_use"].Values.Should().Equal(byHand, (a, b) => Math.Abs(a - b) < 1e-5);

        // The chip as a (4-band, 16-bit) scene: the run's bands and ranges are the defaults.
        var window = (IWindowModel)predictor;
        window.SceneBands.Should().Equal(3, 1);
        window.SceneInputRange.Should().Equal((0.0, 10000.0), (0.0, 2000.0));
        var map = SceneMapper.Map(predictor, chip, _dir.Combine("map.tif"));
        var expected = byHand[1] > byHand[0] ? "water" : "bare";
        map.Summary.Tasks[0].Classes!.Single(c => c.Fraction == 1.0).Class.Should().Be(expected);
        map.Summary.Tasks[0].Values.Should().BeNull("class probabilities do not add up over a scene");

        // The ONNX export takes the raw 16-bit values and maps them through the run's ranges itself.
        var onnx = _dir.Combine("model.onnx");
        OnnxExporter.Export(output, onnx);
        using (var session = new InferenceSession(onnx))
        {
            var input = JsonNode.Parse(session.ModelMetadata.CustomMetadataMap["spatialnet.input"])!;
            ((string?)input["input_scale"]).Should().Be("raw");
            input["input_range"]!.ToJsonString().Should().Be("[[0,10000],[0,2000]]");
            var raw = new float[2 * 32 * 32];
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                {
                    raw[y * 32 + x] = Value(1, 3, y, x);
                    raw[1024 + y * 32 + x] = Value(1, 1, y, x);
                }
            raw[0] = 65535; // above band 4's range: clamped to 10000 as the training cache does
            var clamped = (float[])pixels.Clone();
            clamped[0] = 255;
            var expectedClamped = predictor.Predict(clamped, 1)[0]["land_use"].Values;
            using var value = OrtValue.CreateTensorValueFromMemory(raw, [1, 2, 32, 32]);
            using var results = session.Run(new RunOptions(), ["image"], [value], ["land_use"]);
            results[0].GetTensorDataAsSpan<float>().ToArray().Should().Equal(expectedClamped, (a, b) => Math.Abs(a - b) < 1e-5);
        }

        // The Predictor's ONNX Runtime backend (its own export or the file) gives the TorchSharp values on the same image.
        foreach (var path in new string?[] { null, onnx })
        {
            using var ort = Predictor.Open(output, new PredictorOptions { Backend = InferenceBackend.OnnxRuntime, OnnxModelPath = path });
            ort.Predict(image)["land_use"].Values.Should().Equal(byHand, (a, b) => Math.Abs(a - b) < 1e-5);
            ort.Predict(pixels, 1)[0]["land_use"].Values.Should().Equal(byHand, (a, b) => Math.Abs(a - b) < 1e-5);
        }
    }

    [Fact]
    public void Unit_values_map_each_band_through_its_range_and_clamp()
    {
        var image = RasterImage.FromUInt16([0, 5000, 10000, 12000, 100, 300, 500, 700], 2, 2, 2);

        var unit = image.ToUnitValues([(0, 10000), (100, 500)]);

        unit.Should().Equal(0f, 0.5f, 1f, 1f, 0f, 0.5f, 1f, 1f);
        image.ToUnitValues().Should().Equal([.. new[] { 0, 5000, 10000, 12000, 100, 300, 500, 700 }.Select(v => (float)(v / 65535.0))]);
        FluentActions.Invoking(() => image.ToUnitValues([(0, 1), (0, 1), (0, 1)])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Bands_that_do_not_match_the_model_or_a_bad_range_are_named()
    {
        var chips = WriteChips(_dir.Combine("chips"));
        var bad = SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. ImageFolderRunTests.Small(_dir.Combine("bad")), .. Multispectral(chips).Where(k => !k.StartsWith("model:in_channels", StringComparison.Ordinal)), "model:in_channels=3"], environment: false);
        FluentActions.Invoking(() => TrainingPipeline.Run(bad)).Should().Throw<SpatialNet.DependencyInjection.ConfigurationException>()
            .Which.Message.Should().Contain("data:sources:0:bands = [4, 2]").And.Contain("model:in_channels = 3");

        var range = SpatialNetConfiguration.Load(Path.Combine(Repository.Root(), "configs", "image-folder.json"),
            [.. ImageFolderRunTests.Small(_dir.Combine("range")), .. Multispectral(chips).Where(k => !k.StartsWith("data:sources:0:input_range:1:1", StringComparison.Ordinal)), "data:sources:0:input_range:1:1=-5"], environment: false);
        FluentActions.Invoking(() => TrainingRunOptions.Bind(range)).Should().Throw<SpatialNet.DependencyInjection.ConfigurationException>()
            .Which.Message.Should().Contain("data:sources:0:input_range");
    }
}
