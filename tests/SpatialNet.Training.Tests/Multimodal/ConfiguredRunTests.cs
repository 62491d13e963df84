using FluentAssertions;
using SpatialNet.Training.Checkpoints;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Optimization;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Pipeline;
using Xunit;

namespace SpatialNet.Training.Tests.Multimodal;

/// <summary>
/// One model over UCM-caption and RSVQA from a configuration file: land-use, caption and VQA tasks
/// train together, and the reports carry Table I (with the retrieval baseline) and Table II (with the
/// majority baseline).
/// </summary>
public sealed class ConfiguredRunTests(SyntheticMultimodalFixture data) : IClassFixture<SyntheticMultimodalFixture>
{
    private string Config(string output) => $$"""
        {
          "output_dir": "{{output.Replace("\\", "/", StringComparison.Ordinal)}}",
          "model": { "image_size": 32, "patch_size": 8, "embed_dim": 16, "depth": 1, "num_heads": 2 },
          "tasks": [
            { "name": "land_use", "kind": "classification" },
            { "name": "caption", "kind": "caption", "head": { "depth": 1, "decoding": { "beam_width": 2, "max_length": 8 } } },
            { "name": "vqa", "kind": "vqa", "head": { "depth": 1 } }
          ],
          "loss": { "l2_lambda": 0.0 },
          "trainer": { "seed": 3, "learning_rate": 0.001, "epochs": 2, "early_stopping_patience": 0, "show_progress": false, "write_charts": false },
          "data": {
            "batch_size": 8,
            "sources": [
              { "kind": "ucm-caption", "path": "{{data.UcmRoot.Replace("\\", "/", StringComparison.Ordinal)}}", "caption_sampling": "per_sentence", "caption_max_length": 24,
                "targets": { "land_use": "label", "caption": "caption" } },
              { "kind": "rsvqa", "path": "{{data.RsvqaRoot.Replace("\\", "/", StringComparison.Ordinal)}}", "proportion": 2, "targets": { "vqa": "answer" } }
            ],
            "eval_split": "val",
            "flip": false,
            "rotate90": false
          }
        }
        """;

    [Fact]
    public void Bf16_mixed_precision_runs_every_head_and_exports_the_float32_master_weights()
    {
        // The precision "auto" picks on CUDA, run here on the CPU: classification, caption and VQA heads
        // train and evaluate with a bfloat16 model, and model.safetensors holds the float32 masters.
        using var folder = new TempDirectory();
        var config = SpatialNetConfiguration.FromJson(Config(folder.Combine("run")), overrides: ["trainer:epochs=1", "trainer:precision=bfloat16_mixed"]);

        var run = TrainingPipeline.Run(config);

        run.Training.History.Epochs.Should().HaveCount(1);
        run.Report.Captioning.Should().NotBeEmpty();
        var selected = run.Training.BestCheckpoint ?? run.Training.LastCheckpoint;
        selected.Should().NotBeNull();
        TrainingCheckpoint.ReadInfo(selected!).Precision.Should().Be(PrecisionMode.BFloat16Mixed);

        using var exported = SpatialNet.Weights.StateDictFile.Read(run.ModelWeights);
        var masters = TrainingCheckpoint.ReadModelWeights(selected!);
        using var raw = SpatialNet.Weights.SafetensorsFile.Open(selected!);
        int trained = 0;
        foreach (var (name, value) in exported)
        {
            // Independent of ReadModelWeights: the checkpoint's own bfloat16 model entry is the rounding of the exported value.
            if (!raw.Contains("model.model." + name))
                continue;
            var stored = raw.Read("model.model." + name);
            if (stored.dtype != TorchSharp.torch.ScalarType.BFloat16)
                continue;
            value.to(TorchSharp.torch.ScalarType.BFloat16).eq(stored).all().item<bool>().Should().BeTrue(name);
            trained++;
        }
        trained.Should().BeGreaterThan(10);
        exported.Values.Where(t => t.is_floating_point()).Should().OnlyContain(t => t.dtype == TorchSharp.torch.ScalarType.Float32);
        int notBf16Representable = 0;
        foreach (var (name, value) in exported)
        {
            var master = masters["model." + name];
            if (master.dtype == TorchSharp.torch.ScalarType.BFloat16)
                continue;   // a buffer: kept in bfloat16 during training, exported as float32
            (value.shape.SequenceEqual(master.shape) && value.eq(master).all().item<bool>()).Should().BeTrue(name);
            // Values that bfloat16 cannot hold show that these are the masters, not the model's bf16 copy.
            if (value.is_floating_point() && !value.to(TorchSharp.torch.ScalarType.BFloat16).to(TorchSharp.torch.ScalarType.Float32).eq(value).all().item<bool>())
                notBf16Representable++;
        }
        notBf16Representable.Should().BeGreaterThan(0);
    }

    [Fact]
    public void Land_use_caption_and_vqa_train_in_one_model_and_report_tables_one_and_two()
    {
        using var folder = new TempDirectory();
        var config = SpatialNetConfiguration.FromJson(Config(folder.Combine("run")));

        var run = TrainingPipeline.Run(config);

        var epochs = run.Training.History.Epochs;
        epochs.Should().HaveCount(2);
        epochs[^1].Metrics.Keys.Should().Contain(["land_use/accuracy", "vqa/overall_accuracy", "vqa/average_accuracy", "caption/bleu_4", "caption/cider"]);
        var report = run.Report;
        report.Captioning.Select(r => r.System).Should().HaveCount(3)
            .And.Contain(s => s.StartsWith("SpatialNet (caption, beam 2)", StringComparison.Ordinal))
            .And.Contain(s => s.Contains("predicted class (land_use)", StringComparison.Ordinal));
        report.CaptioningRetrievalBaseline!.System.Should().Contain("true class");
        report.AllVqaRows().Select(r => r.System).Should().Equal("SpatialNet (vqa)", "Majority answer per question type",
            "Question-only lookup (same normalised question) (vqa)");
        var markdown = File.ReadAllText(run.ReportMarkdown);
        markdown.Should().Contain("## Table I").And.Contain("## Table II").And.Contain("| Retrieval oracle: most frequent training caption of the true class |");
        File.ReadAllText(run.ReportJson).Should().Contain("\"table_i\"").And.Contain("\"table_ii\"");

        // Saved weights evaluated on the test split (UCM-caption has one; this RSVQA copy does not): Table I only.
        var test = TrainingPipeline.Evaluate(config, run.ModelWeights, "test", folder.Combine("eval"));
        test.Captioning.Should().HaveCount(3);
        test.AllVqaRows().Should().BeEmpty();
        test.Result.Tasks.Select(t => t.Task.Name).Should().Equal("land_use");
        File.Exists(folder.Combine("eval", "report_test.md")).Should().BeTrue();

        // The command line: evaluate --tables prints and writes both tables of the val split.
        var file = folder.Combine("config.json");
        File.WriteAllText(file, Config(folder.Combine("run")));
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = SpatialNet.Cli.Cli.Run(["evaluate", "--config", file, "--checkpoint", run.ModelWeights, "--split", "val",
            "--output", folder.Combine("cli"), "--tables", "--quiet"], stdout, stderr);
        code.Should().Be(0, stderr.ToString());
        var printed = stdout.ToString();
        printed.Should().Contain("## Table I — captioning, val split").And.Contain("## Table II — RSVQA accuracy, val split")
            .And.Contain("| Majority answer per question type |").And.Contain("| " + CaptionEvaluator.TrueClassRetrievalName + " |");
        printed.ReplaceLineEndings("\n").Should().Contain(File.ReadAllText(folder.Combine("cli", "tables_val.md")));
        var tables = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(folder.Combine("cli", "tables_val.json")))!;
        tables["table_i"]!["rows"]!.AsArray().Should().HaveCount(4);
        tables["table_ii"]!["rows"]!.AsArray().Should().HaveCount(3);
    }
}
