using FluentAssertions;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Optimization;
using SpatialNet.Training.Synthetic;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Pipeline;
using SpatialNet.Training.Batching;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Training.Tests.Training;

/// <summary>
/// Count targets stay float32 under bf16 mixed precision. bfloat16 keeps 8 significant bits, so
/// between 256 and 512 it holds only even numbers: 257 rounds (to even) to 256.
/// </summary>
public sealed class Float32InputsTests : IDisposable
{
    private const float Target = 257f;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Under_bf16_mixed_a_kept_count_reaches_the_loss_as_float32_and_other_float_inputs_are_cast(bool keep)
    {
        manual_seed(1);
        var model = new TinyMlp(4, 8, 1);
        ScalarType? inputType = null, countType = null;
        float[]? counts = null;
        var trainable = new DelegateTrainable(model, b =>
        {
            inputType = b["x"].dtype;
            countType = b[SampleKeys.Count].dtype;
            counts = b[SampleKeys.Count].to(ScalarType.Float32).data<float>().ToArray();
            var prediction = model.call(b["x"]).squeeze(-1).to(ScalarType.Float32);
            var loss = nn.functional.mse_loss(prediction, b[SampleKeys.Count].to(ScalarType.Float32).log());
            return new TrainingLosses(loss, new Dictionary<string, Tensor> { ["count"] = loss });
        });
        var data = new Dictionary<string, Tensor> { ["x"] = rand(8, 4), [SampleKeys.Count] = full(8, Target) };
        var options = new TrainerOptions
        {
            Epochs = 1,
            Precision = PrecisionMode.BFloat16Mixed,
            KeepFloat32Inputs = keep ? new HashSet<string> { SampleKeys.Count } : null,
            ShowProgress = false,
        };
        using var trainer = new Trainer(trainable, new InMemoryBatchSource(data, batchSize: 8, shuffle: false), options);

        trainer.Fit();

        inputType.Should().Be(ScalarType.BFloat16, "float inputs not kept are cast to the compute dtype");
        if (keep)
        {
            countType.Should().Be(ScalarType.Float32);
            counts.Should().OnlyContain(c => c == 257f);
        }
        else
        {
            countType.Should().Be(ScalarType.BFloat16);
            counts.Should().OnlyContain(c => c == 256f, "bf16 rounds 257 to 256");
        }
    }

    [Fact]
    public void A_vqa_run_in_bf16_mixed_keeps_the_count_target_float32_and_casts_the_images()
    {
        var root = _dir.Combine("rsvqa");
        SyntheticDatasetWriter.WriteRsvqa(root, new SyntheticSceneGenerator(new SyntheticSceneOptions { ImageSize = 32, Seed = 4 }),
            trainImages: 3, valImages: 1, testImages: 0);
        var config = SpatialNetConfiguration.FromJson($$"""
            {
              "output_dir": "{{_dir.Combine("run").Replace("\\", "/", StringComparison.Ordinal)}}",
              "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [ { "name": "rsvqa", "kind": "vqa", "head": { "depth": 1, "classifier_hidden_dim": 16, "count_regression": true } } ],
              "trainer": { "seed": 2, "epochs": 1, "precision": "bfloat16_mixed", "early_stopping_patience": 0, "show_progress": false, "write_charts": false },
              "data": { "batch_size": 4, "eval_split": "val",
                        "sources": [ { "kind": "rsvqa", "path": "{{root.Replace("\\", "/", StringComparison.Ordinal)}}", "targets": { "rsvqa": "answer" } } ] }
            }
            """);
        var probe = new PrepareProbe();

        new TrainingPipeline(config, callbacks: [probe]).Run(new TrainingPipelineOptions { MaxSteps = 1 });

        probe.Precision.Should().Be(PrecisionMode.BFloat16Mixed);
        probe.CountType.Should().Be(ScalarType.Float32);
        probe.Count.Should().Be(257f);
        probe.ImageType.Should().Be(ScalarType.BFloat16);
    }

    /// <summary>Prepares a batch the way the run's trainer prepares its own.</summary>
    private sealed class PrepareProbe : ITrainerCallback
    {
        public PrecisionMode? Precision { get; private set; }
        public ScalarType? CountType { get; private set; }
        public float? Count { get; private set; }
        public ScalarType? ImageType { get; private set; }

        public void OnCompleted(Trainer trainer, StopReason reason)
        {
            using var scope = NewDisposeScope();
            var batch = trainer.PrepareBatch(new Dictionary<string, Tensor>
            {
                [SampleKeys.Image] = rand(1, 3, 16, 16),
                [SampleKeys.Count] = full(1, Target),
            });
            Precision = trainer.Precision;
            CountType = batch[SampleKeys.Count].dtype;
            Count = batch[SampleKeys.Count].to(ScalarType.Float32).item<float>();
            ImageType = batch[SampleKeys.Image].dtype;
        }
    }
}
