using FluentAssertions;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Inference;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Synthetic;
using SpatialNet.Training.Tests.Support;
using Xunit;

namespace SpatialNet.Training.Tests.Inference;

/// <summary>A tiny segmentation run on a synthetic mmsegmentation folder, trained once through configuration.</summary>
public sealed class DenseRunFixture : IDisposable
{
    private readonly TempDirectory _folder = new();

    public DenseRunFixture()
    {
        Data = _folder.Combine("data");
        SyntheticDatasetWriter.WriteSegmentation(Data, new SyntheticSceneGenerator(new SyntheticSceneOptions { ImageSize = 32, Seed = 3 }), 24, 8);
        Directory = _folder.Combine("run");
        var configuration = SpatialNetConfiguration.FromJson($$"""
            {
              "output_dir": "{{Directory.Replace("\\", "/", StringComparison.Ordinal)}}",
              "threads": 1,
              "model": { "image_size": 32, "patch_size": 8, "embed_dim": 16, "depth": 2, "num_heads": 2 },
              "tasks": [ { "name": "land", "kind": "segmentation", "target": "mask", "head": { "decoder": "mla", "decoder_channels": 8 } } ],
              "loss": { "l2_lambda": 0.0 },
              "trainer": { "seed": 4, "learning_rate": 0.003, "epochs": 2, "early_stopping_patience": 0, "show_progress": false, "write_charts": false },
              "data": { "batch_size": 8, "sources": [ { "kind": "segmentation", "path": "{{Data.Replace("\\", "/", StringComparison.Ordinal)}}" } ] }
            }
            """);
        Config = TrainingRunOptions.Bind(configuration);
        Result = TrainingPipeline.Run(configuration);
    }

    public string Data { get; }

    public string Directory { get; }

    public TrainingRunOptions Config { get; }

    public TrainingRunResult Result { get; }

    public void Dispose() => _folder.Dispose();
}

public sealed class DenseRunTests(DenseRunFixture run) : IClassFixture<DenseRunFixture>
{
    [Fact]
    public void The_run_reports_split_wide_iou_that_one_image_predictions_reproduce()
    {
        var metrics = run.Result.Report.Result.Metrics;
        metrics.Should().ContainKey("land/miou").And.ContainKey("land/aacc");
        // Independent path: full-resolution maps of each validation image through the Predictor, scored by SegmentationAreas.
        using var predictor = Predictor.Open(run.Directory);
        var val = new SegmentationFolderDataset(run.Data, "val");
        var areas = new SegmentationAreas(5);
        foreach (var (image, mask) in val.Entries)
        {
            var map = predictor.PredictMap(ImageDecoder.Decode(image));
            map.Height.Should().Be(32);
            areas.Add(LabelMask.Read(mask).Values, [.. map.Classes!.Select(c => (int)c)]);
        }
        areas.Compute().MeanIoU.Should().BeApproximately(metrics["land/miou"], 1e-9);
    }

    [Fact]
    public void A_scene_maps_at_full_resolution_on_its_grid_like_the_one_image_path()
    {
        using var folder = new TempDirectory();
        using var predictor = Predictor.Open(run.Directory);
        int w = 70, h = 45;
        var (scene, planar) = WriteScene(folder, w, h);

        var result = SceneMapper.MapDense(predictor.DenseModel(), scene, folder.Combine("map.tif"), new SceneMappingOptions { Stride = 12 }, probabilities: true);
        result.Files.Should().HaveCount(2);
        using (var map = GeoTiffReader.Open(result.Files[0], paletteIndices: true))
        {
            (map.Width, map.Height, map.BandCount, map.SampleType).Should().Be((w, h, 1, RasterSampleType.UInt8));
            map.Georeference!.Transform.Should().Be(GeoTiffReader.Open(scene).Georeference!.Transform);
        }
        using (var probabilities = GeoTiffReader.Open(result.Files[1]))
            probabilities.BandCount.Should().Be(5);
        var classes = LabelMask.Read(result.Files[0]).Values;
        var inMemory = predictor.PredictMap(RasterImage.FromBytes(planar, 3, h, w), stride: 12);
        classes.Should().Equal(inMemory.Classes!.Select(c => (int)c), "the scene path and the one-image path blend the same windows");
        result.ValidPixels.Should().Be(w * h);
        // Pending rows: at most a window plus a stride of rows, K values and a weight per pixel.
        result.PeakBlendBytes.Should().BeLessThanOrEqualTo((32L + 12) * w * (5 + 1) * sizeof(float));
    }

    // A w×h georeferenced scene (not a multiple of the window or the stride) cut from a validation image tiled.
    private (string Path, byte[] Planar) WriteScene(TempDirectory folder, int w, int h)
    {
        var tile = ImageDecoder.Decode(new SegmentationFolderDataset(run.Data, "val").Entries[0].Image).Pixels8!;
        var planar = new byte[3 * h * w];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    planar[(c * h + y) * w + x] = tile[(c * 32 + y % 32) * 32 + x % 32];
        var scene = folder.Combine("scene.tif");
        var reference = new GeoReference { PixelScale = [10, 10, 0], TiePoints = [0, 0, 0, 500000, 4600000, 0] };
        using (var writer = new GeoTiffWriter(scene, w, h, 3, RasterSampleType.UInt8, reference))
        {
            var line = new byte[w * 3];
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                        line[x * 3 + c] = planar[(c * h + y) * w + x];
                writer.WriteRow(line);
            }
            writer.Commit();
        }
        return (scene, planar);
    }

    [Fact]
    public void The_onnx_runtime_backend_maps_like_torchsharp()
    {
        // The run's MLA decoder exported with its source's normalisation; ONNX Runtime is the independent engine.
        using var folder = new TempDirectory();
        var path = folder.Combine("model.onnx");
        OnnxExporter.Export(run.Directory, path);
        using (var session = new Microsoft.ML.OnnxRuntime.InferenceSession(path))
            session.OutputMetadata["land"].Dimensions.Should().Equal(-1, 5, 32, 32);
        using var torch = Predictor.Open(run.Directory);
        using var onnx = Predictor.Open(run.Directory, new PredictorOptions { Backend = InferenceBackend.OnnxRuntime, OnnxThreads = 1, OnnxModelPath = path });
        var image = RasterImage.FromBytes(WriteScene(folder, 45, 37).Planar, 3, 37, 45);
        var expected = torch.PredictMap(image, stride: 13);
        var actual = onnx.PredictMap(image, stride: 13);
        actual.Values.Should().HaveCount(5 * 37 * 45);
        for (int i = 0; i < actual.Values.Length; i++)
            actual.Values[i].Should().BeApproximately(expected.Values[i], 1e-5f, $"value {i}");
    }

    [Fact]
    public void An_onnx_model_without_the_per_pixel_task_is_refused_by_name()
    {
        using var folder = new TempDirectory();
        var path = folder.Combine("other.onnx");
        var encoder = new SpatialNet.Modules.VisionTransformer(new SpatialNet.Modules.VisionTransformerOptions { ImageSize = 32, PatchSize = 8, EmbedDim = 8, Depth = 1, NumHeads = 2 });
        using (var other = new SpatialNet.Models.MultiTaskModel(encoder, [new SpatialNet.Heads.ClassificationHead("scene", SpatialNet.Heads.TokenLayout.Of(encoder), new SpatialNet.Heads.ClassificationHeadOptions { NumClasses = 2 })]))
            OnnxExporter.Export(other, path);
        using var onnx = Predictor.Open(run.Directory, new PredictorOptions { Backend = InferenceBackend.OnnxRuntime, OnnxThreads = 1, OnnxModelPath = path });
        var act = () => onnx.DenseModel();
        act.Should().Throw<InvalidOperationException>().WithMessage("*no output for the per-pixel task 'land'*");
    }

    [Fact]
    public void Predict_cli_writes_a_full_resolution_class_map_for_a_segmentation_run()
    {
        using var folder = new TempDirectory();
        var (scene, _) = WriteScene(folder, 40, 33);
        using var o = new StringWriter();
        using var e = new StringWriter();
        var map = folder.Combine("map.tif");
        SpatialNet.Cli.Cli.Run(["predict", "--run", run.Directory, "--input", scene, "--output", map, "--probabilities"], o, e).Should().Be(0, e.ToString());
        o.ToString().Should().Contain(map).And.Contain("map.probabilities.tif");
        e.ToString().Should().Contain("mapped 40×33 pixels");
        var classes = LabelMask.Read(map);
        (classes.Width, classes.Height).Should().Be((40, 33));
        classes.Values.Should().OnlyContain(v => v >= 0 && v < 5);
    }
}
