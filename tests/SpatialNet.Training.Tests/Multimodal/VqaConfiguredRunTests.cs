using System.Text.Json.Nodes;
using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Data;
using SpatialNet.Training.Metrics;
using SpatialNet.Training.Synthetic;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Pipeline;
using Xunit;

namespace SpatialNet.Training.Tests.Multimodal;

/// <summary>
/// A tiny synthetic RSVQA configuration with every VQA batching option trains through the one path
/// (configuration → pipeline → MultiTaskTrainable → evaluator → report) and reports Table II with the
/// majority and question-only baselines and the blanked-image ablation, on val and on the test split.
/// </summary>
public sealed class VqaConfiguredRunTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_vqa_config_with_every_batching_option_reports_both_baselines_and_the_ablation_for_val_and_test()
    {
        var root = _dir.Combine("rsvqa");
        SyntheticDatasetWriter.WriteRsvqa(root, new SyntheticSceneGenerator(new SyntheticSceneOptions { ImageSize = 32, Seed = 4 }),
            trainImages: 6, valImages: 3, testImages: 2);
        var output = _dir.Combine("run");
        var config = SpatialNetConfiguration.FromJson($$"""
            {
              "output_dir": "{{output.Replace("\\", "/", StringComparison.Ordinal)}}",
              "model": { "image_size": 32, "patch_size": 8, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [ { "name": "rsvqa", "kind": "vqa", "head": { "depth": 1, "classifier_hidden_dim": 16, "count_regression": true, "count_loss_weight": 0.1,
                           "text_drop_rate": 0.1 },
                           "metrics": ["overall_accuracy", "average_accuracy", "per_type_accuracy", "aa_oa_mean"] } ],
              "loss": { "l2_lambda": 0.01 },
              "trainer": { "seed": 2, "learning_rate": 0.001, "epochs": 2, "monitor_metric": "rsvqa/aa_oa_mean", "monitor_mode": "max",
                           "early_stopping_patience": 0, "show_progress": false, "write_charts": false },
              "data": {
                "batch_size": 16,
                "sources": [ { "kind": "rsvqa", "path": "{{root.Replace("\\", "/", StringComparison.Ordinal)}}", "targets": { "rsvqa": "answer" } } ],
                "eval_split": "val",
                "test_split": "test",
                "deduplicate_images": true,
                "repeats": { "rural_urban": 3 },
                "length_buckets": 2,
                "image_drop": 0.25,
                "blank_image_ablation": true
              }
            }
            """);

        var run = TrainingPipeline.Run(config);

        run.Training.History.Epochs.Should().HaveCount(2);
        run.Training.History.Epochs[0].Metrics.Should().ContainKey("rsvqa/aa_oa_mean");
        // The task as described once: the configured metrics, the VQA head's question input, the training answers as labels.
        var task = run.Report.Result.Tasks.Single().Task;
        task.Metrics.Should().Equal("overall_accuracy", "average_accuracy", "per_type_accuracy", "aa_oa_mean");
        task.Inputs.Should().Equal("question");
        task.Head.Should().BeOfType<VqaHeadOptions>().Which.NumAnswers.Should().Be(task.Labels!.Count);
        foreach (var (report, split) in new[] { (run.Report, "val"), (run.TestReport!, "test") })
        {
            var rows = report.AllVqaRows();
            rows.Select(r => r.System).Should().Equal(
                "SpatialNet (rsvqa)",
                "Majority answer per question type",
                "Question-only lookup (same normalised question) (rsvqa)",
                "Ablation: the same model, every image replaced by the mean colour (rsvqa)");
            var (majority, lookup) = HandBaselines(root, split);
            // The report's majority breaks ties by answer index, the hand rule by first occurrence: compared where no type ties.
            if (majority is double m)
                rows[1].Result.OverallAccuracy.Should().BeApproximately(m, 1e-12, $"the majority baseline on {split}");
            rows[2].Result.OverallAccuracy.Should().BeApproximately(lookup, 1e-12, $"the question-only lookup on {split}");
        }
        // Normalisation statistics over the distinct training images, each once (not weighted by its questions).
        var perImage = new RsvqaDataset(root, "train").ComputeNormalizationStatistics();
        var normalization = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "data.json")))!["sources"]![0]!["normalization"]!;
        normalization["mean"]!.AsArray().Select(v => v!.GetValue<double>()).Should().Equal(perImage.Mean, (a, b) => Math.Abs(a - b) < 1e-9);
        normalization["std"]!.AsArray().Select(v => v!.GetValue<double>()).Should().Equal(perImage.Std, (a, b) => Math.Abs(a - b) < 1e-9);
        var test = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "report_test.json")))!;
        test["split"]!.GetValue<string>().Should().Be("test");
        var table = test["table_ii"]!.ToJsonString();
        table.Should().Contain("Question-only lookup").And.Contain("Majority answer per question type").And.Contain("Ablation");
    }

    // Both baselines' OA worked out from the files alone: the most frequent training label of each
    // type; the most frequent training label of the same lower-cased, space-collapsed question without
    // its trailing '?' (first seen on ties), else the type's.
    private static (double? Majority, double Lookup) HandBaselines(string root, string split)
    {
        var train = new RsvqaDataset(root, "train").Questions;
        var evaluated = new RsvqaDataset(root, split).Questions;
        static string Key(string text) => string.Join(' ', text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).TrimEnd('?').TrimEnd();
        static string Most(IEnumerable<RsvqaQuestion> qs) => qs.Select((q, i) => (q.AnswerLabel, i)).GroupBy(p => p.AnswerLabel)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Min(p => p.i)).First().Key;
        var byType = train.GroupBy(q => q.Type).ToDictionary(g => g.Key, g => Most(g));
        var byText = train.GroupBy(q => (q.Type, Key(q.Text))).ToDictionary(g => g.Key, g => Most(g));
        var tie = train.GroupBy(q => q.Type).Any(g => g.GroupBy(q => q.AnswerLabel).Select(a => a.Count()).OrderDescending().Take(2).Distinct().Count() == 1
            && g.Select(q => q.AnswerLabel).Distinct().Count() > 1);
        double? majority = tie ? null : evaluated.Count(q => byType[q.Type] == q.AnswerLabel) / (double)evaluated.Count;
        var lookup = evaluated.Count(q => (byText.TryGetValue((q.Type, Key(q.Text)), out var a) ? a : byType[q.Type]) == q.AnswerLabel) / (double)evaluated.Count;
        return (majority, lookup);
    }
}
