using SpatialNet.Training.Configuration;
using System.Text.Json.Nodes;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Training.Data;
using SpatialNet.Training.Imaging;
using SpatialNet.Training.Inference;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Pipeline;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Inference;

/// <summary>A tiny quickstart-like run (classification, regression, multi-label on synthetic scenes), trained once.</summary>
public sealed class TinyRunFixture : IDisposable
{
    private readonly TempDirectory _folder = new();

    public TinyRunFixture()
    {
        Directory = _folder.Combine("run");
        var configuration = SpatialNetConfiguration.FromJson($$"""
            {
              "output_dir": "{{Directory.Replace("\\", "/", StringComparison.Ordinal)}}",
              "threads": 1,
              "model": { "image_size": 32, "patch_size": 8, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [
                { "name": "land_cover", "kind": "classification", "target": ["label"] },
                { "name": "building_count", "kind": "regression", "target": ["count_building"], "head": { "pooling": "mean" } },
                { "name": "presence", "kind": "multi_label", "head": { "pooling": "attention" },
                  "target": ["presence_building", "presence_tree"], "class_names": ["building", "tree"] }
              ],
              "loss": { "l2_lambda": 0.0 },
              "trainer": { "seed": 4, "learning_rate": 0.002, "epochs": 2, "early_stopping_patience": 0, "show_progress": false, "write_charts": false },
              "data": { "batch_size": 16, "sources": [ { "kind": "synthetic", "train_count": 48, "val_count": 24 } ], "flip": false, "rotate90": false }
            }
            """);
        Config = TrainingRunOptions.Bind(configuration);
        Result = TrainingPipeline.Run(configuration);
    }

    public string Directory { get; }

    public TrainingRunOptions Config { get; }

    public TrainingRunResult Result { get; }

    public void Dispose() => _folder.Dispose();
}

public sealed class PredictorTests(TinyRunFixture run) : IClassFixture<TinyRunFixture>
{
    // The validation scenes as the training pipeline's data source serves them (images and targets).
    private (RasterImage[] Images, long[] Labels, float[] Counts) Validation()
    {
        var m = run.Config.Model;
        var source = OpenedSource.Open(run.Config.Data.Sources[0], 0, m.ImageSize, m.InChannels, run.Config.Seed);
        var val = source.Split("val")!;
        var images = new RasterImage[val.Count];
        var labels = new long[val.Count];
        var counts = new float[val.Count];
        for (int i = 0; i < val.Count; i++)
        {
            using var sample = val.GetSample(i);
            images[i] = RasterImage.FromTensor(sample[SampleKeys.Image]);
            labels[i] = sample[SampleKeys.Label].item<long>();
            counts[i] = sample["count_building"].to(ScalarType.Float32).item<float>();
        }
        return (images, labels, counts);
    }

    [Fact]
    public void A_run_written_from_code_with_RunFolderWriter_predicts_every_task_like_the_training_run()
    {
        // As code holds it: the model built from the configuration, trained weights, tasks with their head options only
        // (no data statistics: the regression head's target scaling must come from its options).
        var trained = RunFolder.Open(run.Directory);
        using var folder = new TempDirectory();
        var saved = folder.Combine("saved");
        using (var model = trained.CreateModel())
        {
            TrainingPipeline.LoadWeights(model, trained.WeightsPath);
            var source = trained.Sources[0];
            RunFolderWriter.Save(saved, trained.Configuration, model, trained.Tasks.Select(t => t.Task with { Statistics = null }).ToList(),
                source.Mean is { } mean ? new NormalizationStatistics(mean, source.Std!) : null);
        }

        using var original = Predictor.Open(run.Directory);
        using var copy = Predictor.Open(saved);
        var (images, _, _) = Validation();
        var expected = original.Predict(images);
        var actual = copy.Predict(images);
        copy.Tasks.Should().BeEquivalentTo(original.Tasks, o => o.WithStrictOrdering());
        foreach (var task in original.Tasks)
            actual.Outputs[task.Name].Should().Equal(expected.Outputs[task.Name], $"task {task.Name}: same weights, normalisation and target scaling");
    }

    [Fact]
    public void Predictions_reproduce_the_training_evaluation_of_the_validation_split()
    {
        // Independent reference: the evaluator's report (accuracy, cross-entropy, MAE) written by training.
        using var predictor = Predictor.Open(run.Directory);
        var (images, labels, counts) = Validation();
        var batch = predictor.Predict(images);
        var metrics = run.Result.Report.Result.Metrics;

        double correct = 0, crossEntropy = 0, absError = 0;
        for (int i = 0; i < images.Length; i++)
        {
            var land = batch[i]["land_cover"];
            land.Values.Sum().Should().BeApproximately(1f, 1e-5f);
            correct += land.PredictedClass == labels[i] ? 1 : 0;
            crossEntropy -= Math.Log(land.Values[(int)labels[i]]);
            absError += Math.Abs(batch[i]["building_count"].Values[0] - counts[i]);
            batch[i]["presence"].Values.Should().OnlyContain(p => p >= 0 && p <= 1);
        }
        (correct / images.Length).Should().BeApproximately(metrics["land_cover/accuracy"], 1e-9);
        (crossEntropy / images.Length).Should().BeApproximately(metrics["land_cover/loss"], 1e-4);
        (absError / images.Length).Should().BeApproximately(metrics["building_count/mae"], 1e-4);
    }

    [Fact]
    public void Class_names_and_labels_come_from_the_run()
    {
        using var predictor = Predictor.Open(run.Directory);
        var data = JsonNode.Parse(File.ReadAllText(Path.Combine(run.Directory, "data.json")))!;
        var classNames = data["sources"]![0]!["class_names"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
        predictor.Tasks.Select(t => t.Name).Should().Equal("land_cover", "building_count", "presence");
        predictor.Tasks[0].Labels.Should().Equal(classNames);
        predictor.Tasks[2].Labels.Should().Equal("building", "tree");
        var one = predictor.Predict(Validation().Images[0]);
        classNames.Should().Contain(one["land_cover"].PredictedLabel);
        one["presence"].PresentLabels.Should().BeSubsetOf(["building", "tree"]);
    }

    [Fact]
    public void Batching_threads_and_the_ONNX_Runtime_backend_give_the_same_outputs()
    {
        var images = Validation().Images;
        using var whole = Predictor.Open(run.Directory);
        using var small = Predictor.Open(run.Directory, new PredictorOptions { MaxBatchSize = 5 });
        using var onnx = Predictor.Open(run.Directory, new PredictorOptions { Backend = InferenceBackend.OnnxRuntime, OnnxThreads = 1 });
        onnx.Backend.Should().Be(InferenceBackend.OnnxRuntime);
        var reference = whole.Predict(images);
        var split = small.Predict(images);
        var parallel = new PredictionBatch[4];
        Parallel.For(0, 4, i => parallel[i] = whole.Predict(images));
        var viaOnnx = onnx.Predict(images);
        foreach (var task in reference.Tasks)
        {
            split.Outputs[task.Name].Should().Equal(reference.Outputs[task.Name], (a, b) => Math.Abs(a - b) <= 1e-6f, task.Name);
            foreach (var p in parallel)
                p.Outputs[task.Name].Should().Equal(reference.Outputs[task.Name], task.Name);
            viaOnnx.Outputs[task.Name].Should().Equal(reference.Outputs[task.Name], (a, b) => Math.Abs(a - b) <= 1e-5f, task.Name);
        }
    }

    [Fact]
    public void The_batch_call_takes_pixels_and_a_task_subset()
    {
        using var predictor = Predictor.Open(run.Directory);
        var images = Validation().Images.Take(3).ToArray();
        var pixels = images.SelectMany(i => i.Pixels8!).ToArray();
        var batch = predictor.Predict(pixels, 3, ["building_count"]);
        batch.Tasks.Select(t => t.Name).Should().Equal("building_count");
        batch.Outputs["building_count"].Should().Equal(predictor.Predict(images).Outputs["building_count"]);
        var wrong = () => predictor.Predict(pixels.AsSpan(1).ToArray(), 3);
        wrong.Should().Throw<ArgumentException>().WithMessage("*3 images*");
        var unknown = () => predictor.Predict(pixels, 3, ["nope"]);
        unknown.Should().Throw<ArgumentException>().WithMessage("*'nope'*land_cover*");
    }

    [Fact]
    public void Exported_file_carries_the_run_metadata()
    {
        using var folder = new TempDirectory();
        var path = folder.Combine("model.onnx");
        OnnxExporter.Export(run.Directory, path);
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(path);
        session.OutputMetadata.Keys.Should().BeEquivalentTo(["land_cover", "building_count", "presence"]);
        var tasks = JsonNode.Parse(session.ModelMetadata.CustomMetadataMap["spatialnet.tasks"])!.AsArray();
        tasks[2]!["labels"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal("building", "tree");
        tasks[0]!["normalization"]!["mean"]!.AsArray().Should().HaveCount(3);
    }

    [Fact]
    public void Registered_through_dependency_injection_and_disposed_with_the_provider()
    {
        var services = new ServiceCollection();
        services.AddSpatialNetPredictor(run.Directory, o => o.MaxBatchSize = 4);
        Predictor predictor;
        using (var provider = services.BuildServiceProvider())
        {
            predictor = provider.GetRequiredService<Predictor>();
            provider.GetRequiredService<Predictor>().Should().BeSameAs(predictor);
            predictor.Predict(Validation().Images[0])["land_cover"].Values.Should().HaveCount(predictor.Tasks[0].Outputs);
        }
        var afterwards = () => predictor.Predict(Validation().Images[0]);
        afterwards.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void A_folder_without_a_run_is_refused_naming_the_missing_file()
    {
        using var folder = new TempDirectory();
        var act = () => Predictor.Open(folder.Path);
        act.Should().Throw<DatasetFileNotFoundException>().WithMessage("*config.json*");
    }
}
