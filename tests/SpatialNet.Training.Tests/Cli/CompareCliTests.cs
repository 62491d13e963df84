using System.Text.Json.Nodes;
using FluentAssertions;
using SpatialNet.Training.Comparison;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using Xunit;

namespace SpatialNet.Training.Tests.Cli;

/// <summary><c>spatialnet compare</c>: Δm and the seed statistics by hand, the single-task configurations, and a tiny comparison end to end.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class CompareCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Delta_m_is_the_mean_signed_relative_change_against_the_single_task_runs()
    {
        // accuracy (higher is better): (0.8 − 0.75)/0.75 = 1/15; mae (lower is better): −(2.0 − 2.5)/2.5 = 0.2.
        var multi = new Dictionary<string, double> { ["a"] = 0.8, ["b"] = 2.0 };
        var single = new Dictionary<string, double> { ["a"] = 0.75, ["b"] = 2.5 };
        var names = new Dictionary<string, string> { ["a"] = "accuracy", ["b"] = "mae" };
        ComparisonSummary.DeltaM(multi, single, names).Should().BeApproximately(100 * (1.0 / 15 + 0.2) / 2, 1e-12);
        // Worse on both: negative.
        ComparisonSummary.DeltaM(new Dictionary<string, double> { ["a"] = 0.6, ["b"] = 3.0 }, single, names)
            .Should().BeApproximately(100 * (-0.15 / 0.75 - 0.5 / 2.5) / 2, 1e-12);
    }

    [Fact]
    public void Seed_statistics_are_the_mean_and_the_sample_standard_deviation()
    {
        var s = MeanStd.Of([1, 2, 3, 4]);
        s.Mean.Should().Be(2.5);
        s.Std.Should().BeApproximately(Math.Sqrt(5.0 / 3), 1e-12);   // Σ(x − 2.5)² = 5, over n − 1 = 3
        MeanStd.Of([7]).Std.Should().Be(0);
    }

    [Fact]
    public void A_single_task_configuration_keeps_that_task_alone_renumbered_with_the_weighted_sum()
    {
        var configuration = SpatialNetConfiguration.FromJson("""
            {
              "tasks": [
                { "name": "a", "kind": "classification", "target": "label" },
                { "name": "b", "kind": "regression", "target": "count", "head": { "pooling": "mean" } },
                { "name": "c", "kind": "multi_label", "target": [ "x", "y" ] }
              ],
              "loss": { "loss_composer": "uncertainty", "l2_lambda": 0 },
              "trainer": { "monitor": "a/accuracy", "epochs": 2 }
            }
            """);
        var only = ComposerComparison.OnlyTask(configuration, "b");
        only["tasks:0:name"].Should().Be("b");
        only["tasks:0:head:pooling"].Should().Be("mean");
        only.GetSection("tasks").GetChildren().Should().HaveCount(1);
        only["loss:loss_composer"].Should().Be("weighted_sum");
        only["loss:l2_lambda"].Should().Be("0");
        only["trainer:monitor"].Should().BeNull("the monitor named another task's metric");
        only["trainer:epochs"].Should().Be("2");
        ComposerComparison.OnlyTask(configuration, "a")["trainer:monitor"].Should().Be("a/accuracy");
    }

    [Fact]
    public void Compare_trains_each_composer_and_task_alone_writes_the_table_and_continues_where_it_stopped()
    {
        var config = _dir.Combine("tiny.json");
        File.WriteAllText(config, """
            {
              "output_dir": "unused", "threads": 1,
              "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [
                { "name": "land_cover", "kind": "classification", "target": "label" },
                { "name": "building_count", "kind": "regression", "target": "count_building", "head": { "pooling": "mean" } }
              ],
              "loss": { "loss_composer": "weighted_sum", "l2_lambda": 0 },
              "trainer": { "show_progress": false, "write_charts": false, "learning_rate": 0.003, "epochs": 1 },
              "data": { "batch_size": 8, "sources": [ { "kind": "synthetic", "train_count": 16, "val_count": 8 } ] }
            }
            """);
        var output = _dir.Combine("cmp");
        string[] args = ["compare", "--config", config, "--composers", "weighted_sum,uncertainty", "--seeds", "2", "--output", output, "--no-progress", "--json"];
        var (code, stdout, stderr) = Run(args);
        code.Should().Be(0, stderr);

        var result = JsonNode.Parse(stdout)!;
        var groups = result["groups"]!.AsArray().Select(g => g!["group"]!.GetValue<string>()).ToList();
        groups.Should().Equal("weighted_sum", "uncertainty", "single:land_cover", "single:building_count");
        result["runs"]!.AsArray().Should().HaveCount(8);   // (2 composers + 2 single tasks) × 2 seeds
        foreach (var file in new[] { "compare.md", "compare.json", "compare.png" })
            File.Exists(Path.Combine(output, file)).Should().BeTrue(file);
        File.ReadAllText(Path.Combine(output, "compare.md")).Should().Contain("| uncertainty |").And.Contain("Δm%");

        // Δm of uncertainty, seed by seed from the runs, by the formula (accuracy up, mae down), then averaged.
        var runs = result["runs"]!.AsArray();
        double Metric(string group, int seed, string task) => runs.Single(r => r!["group"]!.GetValue<string>() == group && r["seed"]!.GetValue<int>() == seed)!["metrics"]![task]!.GetValue<double>();
        double sAcc = (Metric("single:land_cover", 1, "land_cover") + Metric("single:land_cover", 2, "land_cover")) / 2;
        double sMae = (Metric("single:building_count", 1, "building_count") + Metric("single:building_count", 2, "building_count")) / 2;
        double Delta(int seed) => 100 * ((Metric("uncertainty", seed, "land_cover") - sAcc) / sAcc - (Metric("uncertainty", seed, "building_count") - sMae) / sMae) / 2;
        var uncertainty = result["groups"]!.AsArray().Single(g => g!["group"]!.GetValue<string>() == "uncertainty")!;
        uncertainty["delta_m_percent"]!["mean"]!.GetValue<double>().Should().BeApproximately((Delta(1) + Delta(2)) / 2, 1e-9);

        // A second invocation trains nothing: every run is read back.
        var (again, _, err2) = Run(args);
        again.Should().Be(0, err2);
        err2.Split('\n').Count(l => l.Contains("finished earlier, kept", StringComparison.Ordinal)).Should().Be(8);
    }

    [Fact]
    public void Compare_without_a_composer_is_refused_naming_the_option()
    {
        var (code, _, stderr) = Run("compare", "--config", _dir.Combine("none.json"), "--composers", ",", "--output", _dir.Combine("x"));
        code.Should().NotBe(0);
        stderr.Should().Contain("--composers");
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);
}
