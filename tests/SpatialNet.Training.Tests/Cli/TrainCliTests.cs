using System.Text.Json;
using FluentAssertions;
using SpatialNet.Training.Checkpoints;
using SpatialNet.Training.Data;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Optimization;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using Xunit;

namespace SpatialNet.Training.Tests.Cli;

/// <summary>The train, evaluate and synthetic commands, end to end on tiny synthetic data.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class TrainCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static (int Code, string Out, string Err) Run(CancellationToken cancellationToken, params string[] args) => CliRunner.Run(cancellationToken, args);

    /// <summary>A model and data small enough for one epoch in about a second.</summary>
    private string TinyConfig(string name, int epochs, string precision = "auto", string? file = null, int trainCount = 24, bool progress = false)
    {
        var path = _dir.Combine((file ?? name) + ".json");
        File.WriteAllText(path, $$"""
            {
              "output_dir": "{{name}}", "threads": 1,
              "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [
                { "name": "land_cover", "kind": "classification", "target": "label" },
                { "name": "building_count", "kind": "regression", "target": "count_building", "head": { "pooling": "mean" } },
                { "name": "presence", "kind": "multi_label", "target": ["presence_building", "presence_road"] }
              ],
              "loss": { "loss_composer": "weighted_sum", "l2_lambda": 0.001 },
              "trainer": { "seed": 5, "show_progress": {{(progress ? "true" : "false")}}, "write_charts": false, "precision": "{{precision}}", "learning_rate": 0.003, "epochs": {{epochs}} },
              "data": { "batch_size": 8, "sources": [ { "kind": "synthetic", "train_count": {{trainCount}}, "val_count": 8 } ] }
            }
            """);
        return path;
    }

    [Fact]
    public void Synthetic_WritesBothFormats_AndTheLoadersReadThemBack()
    {
        var (code, stdout, stderr) = Run("synthetic", "--format", "ucm-caption", "--out", _dir.Combine("ucm"), "--count", "12", "--size", "32", "--seed", "2");
        code.Should().Be(0, stderr);
        stdout.Should().Contain("15 32×32 scenes");   // 12 rounded up to 3 per class × 5 classes
        // 10 % of 3 rounds to 0, but a small set still gets one val and one test image per class.
        stdout.Should().Contain("train 5").And.Contain("val 5").And.Contain("test 5");
        new UcmCaptionDataset(_dir.Combine("ucm"), "val").Images.Should().HaveCount(5);
        var ucm = new UcmCaptionDataset(_dir.Combine("ucm"), "train");
        ucm.ClassNames.Should().HaveCount(5);
        ucm.Images.Should().OnlyContain(i => i.Sentences.Count == 5);
        using (var sample = ucm.GetSample(0))
            sample[SampleKeys.Image].shape.Should().Equal(3, 32, 32);

        (code, stdout, stderr) = Run("synthetic", "--format", "rsvqa", "--out", _dir.Combine("rsvqa"), "--count", "10", "--size", "32");
        code.Should().Be(0, stderr);
        var train = new RsvqaDataset(_dir.Combine("rsvqa"), "train");
        var val = new RsvqaDataset(_dir.Combine("rsvqa"), "val");
        var test = new RsvqaDataset(_dir.Combine("rsvqa"), "test");
        (train.Images.Count, val.Images.Count, test.Images.Count).Should().Be((8, 1, 1));
        Run("synthetic", "--format", "rsvqa", "--out", _dir.Combine("rsvqa3"), "--count", "3", "--size", "32").Code.Should().Be(0);
        (new RsvqaDataset(_dir.Combine("rsvqa3"), "train").Images.Count, new RsvqaDataset(_dir.Combine("rsvqa3"), "val").Images.Count).Should().Be((1, 1));
        train.Questions.Select(q => q.Type).Distinct().Should().HaveCount(4);

        Run("synthetic", "--format", "coco", "--out", _dir.Combine("x")).Code.Should().Be(2);
    }

    [Fact]
    public void Train_OnATinySyntheticConfig_WritesCheckpointsReportAndHistory_ThenEvaluateScoresTheCheckpoint()
    {
        var config = TinyConfig("run", epochs: 1);
        var (code, stdout, stderr) = Run("train", "--config", config, "--quiet");
        code.Should().Be(0, stderr);
        stdout.Should().Contain("land_cover").And.Contain("building_count").And.Contain("chance");

        var run = _dir.Combine("run");
        foreach (var file in new[] { "checkpoints/last.safetensors", "checkpoints/best.safetensors", "model.safetensors", "report.json", "report.md",
                     "history.json", "history.csv", "steps.csv", "config.json", "data.json" })
            File.Exists(Path.Combine(run, file)).Should().BeTrue(file);
        using (var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "report.json"))))
        {
            var tasks = report.RootElement.GetProperty("tasks");
            tasks.GetArrayLength().Should().Be(3);
            tasks[0].GetProperty("samples").GetInt32().Should().Be(8);
            report.RootElement.GetProperty("metrics").TryGetProperty("presence/micro_f1", out _).Should().BeTrue();
        }
        File.ReadAllText(Path.Combine(run, "history.csv")).Should().Contain("train_land_cover/loss").And.Contain("land_cover/accuracy");

        (code, stdout, stderr) = Run("evaluate", "--config", config, "--checkpoint", Path.Combine(run, "checkpoints", "best.safetensors"), "--quiet");
        code.Should().Be(0, stderr);
        File.Exists(Path.Combine(run, "report_val.json")).Should().BeTrue();
        // The same weights on the same split give the same numbers, from the checkpoint or from model.safetensors.
        var fromCheckpoint = File.ReadAllText(Path.Combine(run, "report_val.json"));
        Run("evaluate", "--config", config, "--checkpoint", Path.Combine(run, "model.safetensors"), "--quiet").Code.Should().Be(0);
        Metrics(File.ReadAllText(Path.Combine(run, "report_val.json"))).Should().Equal(Metrics(fromCheckpoint));
        Metrics(fromCheckpoint).Should().Equal(Metrics(File.ReadAllText(Path.Combine(run, "report.json"))));
    }

    private static Dictionary<string, double> Metrics(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("metrics").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
    }

    [Fact]
    public void Resume_FromTheLastCheckpoint_ContinuesTheRunExactly()
    {
        var straight = TinyConfig("straight", epochs: 2);
        Run("train", "--config", straight, "--quiet").Code.Should().Be(0);

        // Interrupted after 4 of the 6 steps (3 per epoch: mid-epoch 2), then resumed with the same configuration.
        var first = TinyConfig("resumed", epochs: 2);
        Run("train", "--config", first, "--quiet", "--max-steps", "4").Code.Should().Be(0);
        MetricHistory.FromJson(File.ReadAllText(_dir.Combine("resumed", "history.json"))).Steps.Should().HaveCount(4);
        var (code, _, stderr) = Run("train", "--config", first, "--quiet", "--resume", _dir.Combine("resumed", "checkpoints", Trainer.LastCheckpointName));
        code.Should().Be(0, stderr);

        var a = MetricHistory.FromJson(File.ReadAllText(_dir.Combine("straight", "history.json")));
        var b = MetricHistory.FromJson(File.ReadAllText(_dir.Combine("resumed", "history.json")));
        b.Epochs.Should().HaveCount(2);
        b.Steps.Should().HaveCount(a.Steps.Count);
        for (int i = 0; i < a.Steps.Count; i++)
            b.Steps[i].Losses.Should().Equal(a.Steps[i].Losses, $"step {i + 1}");
        b.Epochs[1].Metrics.Should().Equal(a.Epochs[1].Metrics);
    }

    /// <summary>Cancels a token when a line containing <paramref name="trigger"/> is written (the CLI's progress line).</summary>
    private sealed class CancelOnLine(CancellationTokenSource source, string trigger) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(trigger, StringComparison.Ordinal))
                source.Cancel();
        }
    }

    [Fact]
    public void Interrupt_StopsMidEpochWithACheckpointAndTheResumeCommand_AndResumingEqualsTheUninterruptedRun()
    {
        var straight = TinyConfig("straight", epochs: 2, trainCount: 96);
        Run("train", "--config", straight, "--quiet").Code.Should().Be(0);

        // 12 steps per epoch; the first progress line (losses are read back every 10 steps) is the "Ctrl+C".
        var config = TinyConfig("interrupted", epochs: 2, trainCount: 96, progress: true);
        using var source = new CancellationTokenSource();
        using var stderr = new CancelOnLine(source, "epoch 1/2  step ");
        using var stdout = new StringWriter();
        int code = SpatialNet.Cli.Cli.Run(["train", "--config", config, "--quiet"], stdout, stderr, source.Token);

        code.Should().Be(130, stderr.ToString());
        stdout.ToString().Should().BeEmpty("an interrupted run has no result");
        var checkpoint = _dir.Combine("interrupted", "checkpoints", Trainer.LastCheckpointName);
        var position = TrainingCheckpoint.ReadInfo(checkpoint).Position;
        (position.Epoch, position.GlobalStep).Should().Be((0, position.BatchInEpoch));
        position.BatchInEpoch.Should().BeInRange(1, 11, "stopped mid-epoch, at a step boundary");
        var lines = stderr.ToString().ReplaceLineEndings("\n").Split('\n');
        var resume = lines.SkipWhile(l => l != "resume with:").Skip(1).First().Trim();
        resume.Should().Be($"spatialnet train --config {config} --resume {checkpoint} --quiet");
        File.Exists(_dir.Combine("interrupted", "report.json")).Should().BeFalse("no evaluation after an interrupt");

        // The printed command, run as printed (without the program name).
        (code, _, var err) = Run(resume.Split(' ').Skip(1).ToArray());
        code.Should().Be(0, err);
        var a = MetricHistory.FromJson(File.ReadAllText(_dir.Combine("straight", "history.json")));
        var b = MetricHistory.FromJson(File.ReadAllText(_dir.Combine("interrupted", "history.json")));
        b.Steps.Should().HaveCount(a.Steps.Count);
        for (int i = 0; i < a.Steps.Count; i++)
            b.Steps[i].Losses.Should().Equal(a.Steps[i].Losses, $"step {i + 1}");
        b.Epochs.Select(e => e.Metrics).Should().BeEquivalentTo(a.Epochs.Select(e => e.Metrics), o => o.WithStrictOrdering());
        File.ReadAllBytes(_dir.Combine("interrupted", "model.safetensors")).Should().Equal(File.ReadAllBytes(_dir.Combine("straight", "model.safetensors")));
    }

    [SkippableFact]
    public void Signals_TheFirstStopsWithACheckpointAndTheResumeCommand_ASecondAbortsAtOnce()
    {
        // The installed tool as a child process, stopped by real signals. SIGTERM: SIGINT may arrive ignored
        // (a background job of a script), and the tool treats both the same.
        Skip.If(OperatingSystem.IsWindows(), "POSIX signals");
        var config = TinyConfig("signals", epochs: 50, trainCount: 960);

        var (code, stderr) = RunTool(["train", "--config", config, "--no-progress"], signals: 1);
        code.Should().Be(130, stderr);
        stderr.Should().Contain("resume with:").And.Contain("--resume");
        File.Exists(_dir.Combine("signals", "checkpoints", Trainer.LastCheckpointName)).Should().BeTrue(stderr);

        // The second signal races the clean stop it interrupts; whichever wins, the tool never crashes.
        (code, stderr) = RunTool(["train", "--config", config, "--no-progress", "--overwrite"], signals: 2);
        code.Should().BeOneOf([128 + 15, 130], $"killed by the second SIGTERM itself (or stopped cleanly first), not crashed in shutdown:\n{stderr}");
        if (code == 128 + 15)
            stderr.Should().Contain("spatialnet: aborted").And.NotContain("resume with:");
        else
            stderr.Should().Contain("resume with:");
    }

    [Fact]
    public void TheNativeLoadersLineIsShownWithVerboseOnly_ThroughTheToolsLogging()
    {
        var config = TinyConfig("native", epochs: 1);
        var plain = RunTool(["train", "--config", config, "--max-steps", "1"], nativeQuiet: false);
        var loud = RunTool(["train", "--config", config, "--max-steps", "1", "--overwrite", "--verbose"], nativeQuiet: false);
        (plain.Code, loud.Code).Should().Be((0, 0), plain.Stderr + loud.Stderr);
        plain.Stderr.Should().NotContain("native runtime", "quiet by default");
        loud.Stderr.Should().NotContain("[SpatialNet] native runtime", "not the loader's own console line");
        // Where this machine needs the compatibility copy (or a named libtorch), the loader has a line to say.
        var report = SpatialNet.Runtime.TorchNativeRuntime.EnsureInitialized();
        if (report.PatchedLibrary is not null || report.LibTorchDirectory is not null)
            loud.Stderr.Should().MatchRegex(@"(?m)^\d\d:\d\d:\d\d SpatialNet native runtime: ");
    }

    /// <summary>Runs the tool as a child process; sends SIGTERM <paramref name="signals"/> times once training has started.</summary>
    private (int Code, string Stderr) RunTool(string[] args, int signals = 0, bool nativeQuiet = true)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = _dir.Path,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "spatialnet.dll"));
        foreach (var a in args)
            start.ArgumentList.Add(a);
        if (nativeQuiet) start.Environment["SPATIALNET_NATIVE_QUIET"] = "1";
        else start.Environment.Remove("SPATIALNET_NATIVE_QUIET");
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var training = new ManualResetEventSlim();
        using var stopping = new ManualResetEventSlim();
        using var tool = new System.Diagnostics.Process { StartInfo = start };
        tool.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lines.Enqueue(e.Data);
            if (e.Data.Contains(" Training ", StringComparison.Ordinal)) training.Set();   // the step loop has started
            if (e.Data.StartsWith("spatialnet: stopping", StringComparison.Ordinal)) stopping.Set();
        };
        tool.Start();
        tool.BeginErrorReadLine();
        tool.BeginOutputReadLine();
        try
        {
            if (signals > 0)
                training.Wait(TimeSpan.FromMinutes(2)).Should().BeTrue(string.Join("\n", lines));
            for (int i = 0; i < signals; i++)
            {
                if (i > 0) stopping.Wait(TimeSpan.FromMinutes(1));   // the first was taken (not merged with the second)
                System.Diagnostics.Process.Start("kill", ["-TERM", tool.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            }
            tool.WaitForExit(TimeSpan.FromMinutes(2)).Should().BeTrue("the tool stops");
            tool.WaitForExit();   // drains the redirected streams
        }
        finally
        {
            if (!tool.HasExited) tool.Kill(entireProcessTree: true);
        }
        return (tool.ExitCode, string.Join("\n", lines));
    }

    [Fact]
    public void Train_PrintsOneRowPerEpochOnStandardError_AndTheResultOnStandardOutput()
    {
        var config = TinyConfig("rows", epochs: 2, progress: true);
        var (code, stdout, stderr) = Run("train", "--config", config);
        code.Should().Be(0, stderr);
        var lines = stderr.ReplaceLineEndings("\n").Split('\n');
        var header = lines.Single(l => l.StartsWith("epoch ", StringComparison.Ordinal) && l.Contains("train loss", StringComparison.Ordinal));
        header.Should().Contain("land_cover/accuracy").And.Contain("building_count/mae").And.Contain("presence/accuracy").And.NotContain("macro_f1");
        lines.Where(l => l.StartsWith("1/2 ", StringComparison.Ordinal) || l.StartsWith("2/2 ", StringComparison.Ordinal)).Should().HaveCount(2);
        stderr.Should().NotContain("Epoch 1/2:", "the trainer's long epoch line is replaced by the row").And.NotContain("\u001b[");
        stdout.Should().Contain("trained 2 epochs").And.NotContain("train loss");
    }

    [Fact]
    public void Resume_with_auto_precision_continues_in_the_checkpoints_precision()
    {
        // Started in bf16 mixed precision (what auto picks on a GPU), continued where auto would pick float32.
        var started = TinyConfig("moved", epochs: 2, precision: "bfloat16_mixed", file: "moved-bf16");
        Run("train", "--config", started, "--quiet", "--max-steps", "4").Code.Should().Be(0);
        var last = _dir.Combine("moved", "checkpoints", Trainer.LastCheckpointName);

        var forced = TinyConfig("moved", epochs: 2, precision: "float32", file: "moved-fp32");
        var (code, _, stderr) = Run("train", "--config", forced, "--quiet", "--resume", last);
        code.Should().Be(1);
        stderr.Should().Contain("BFloat16Mixed").And.Contain("TrainerOptions.Precision");

        var auto = TinyConfig("moved", epochs: 2, precision: "auto", file: "moved-auto");
        (code, _, stderr) = Run("train", "--config", auto, "--quiet", "--resume", last);
        code.Should().Be(0, stderr);
        TrainingCheckpoint.ReadInfo(last).Precision.Should().Be(PrecisionMode.BFloat16Mixed);
        MetricHistory.FromJson(File.ReadAllText(_dir.Combine("moved", "history.json"))).Steps.Should().HaveCount(6);
    }

    [Fact]
    public void Weights_convert_turns_a_training_checkpoint_into_the_models_full_precision_weights()
    {
        var config = TinyConfig("exported", epochs: 1, precision: "bfloat16_mixed");
        Run("train", "--config", config, "--quiet").Code.Should().Be(0);
        var checkpoint = _dir.Combine("exported", "checkpoints", Trainer.LastCheckpointName);
        var converted = _dir.Combine("exported", "converted.pth");

        var (code, stdout, stderr) = Run("weights", "convert", checkpoint, converted);
        code.Should().Be(0, stderr);

        // inspect: the checkpoint's model tensors hold as many parameters as model.safetensors; the optimizer state is apart.
        var (_, inspected, _) = Run("weights", "inspect", checkpoint, "--json");
        var (_, plain, _) = Run("weights", "inspect", _dir.Combine("exported", "model.safetensors"), "--json");
        using (var a = JsonDocument.Parse(inspected))
        using (var b = JsonDocument.Parse(plain))
        {
            a.RootElement.GetProperty("training_checkpoint").GetBoolean().Should().BeTrue();
            b.RootElement.GetProperty("training_checkpoint").GetBoolean().Should().BeFalse();
            a.RootElement.GetProperty("parameters").GetInt64().Should().Be(b.RootElement.GetProperty("parameters").GetInt64());
            a.RootElement.GetProperty("optimizer_state").GetArrayLength().Should().BeGreaterThan(0);
            a.RootElement.GetProperty("tensors").EnumerateArray().Should().OnlyContain(t => t.GetProperty("name").GetString()!.StartsWith("model.", StringComparison.Ordinal));
        }

        code.Should().Be(0, stderr);
        stdout.Should().Contain("full precision").And.Contain("optimizer state left out");
        using var fromCli = SpatialNet.Weights.StateDictFile.Read(converted);
        using var fromRun = SpatialNet.Weights.StateDictFile.Read(_dir.Combine("exported", "model.safetensors"));
        fromCli.Keys.Should().BeEquivalentTo(fromRun.Keys);
        fromCli.Keys.Should().NotContain(k => k.StartsWith("optimizer.", StringComparison.Ordinal) || k.StartsWith("model.", StringComparison.Ordinal));
        foreach (var (name, t) in fromRun)
        {
            fromCli[name].dtype.Should().Be(t.dtype, name);
            fromCli[name].eq(t).all().item<bool>().Should().BeTrue(name);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Train_OnRsvqaFiles_ScoresAnswersPerQuestionType_InTableII(bool questionAgnostic)
    {
        Run("synthetic", "--format", "rsvqa", "--out", _dir.Combine("rsvqa"), "--count", "10", "--size", "32").Code.Should().Be(0);
        var path = _dir.Combine("vqa.json");
        File.WriteAllText(path, $$"""
            {
              "output_dir": "vqa", "threads": 1,
              "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [ { "name": "answers", "kind": "vqa", "target": "answer", "question_agnostic": {{(questionAgnostic ? "true" : "false")}}, "head": { "depth": 1 } } ],
              "loss": { "l2_lambda": 0 },
              "trainer": { "seed": 2, "show_progress": false, "write_charts": false, "learning_rate": 0.003, "epochs": 1 },
              "data": { "batch_size": 32, "sources": [ { "kind": "rsvqa", "path": "rsvqa" } ], "test_split": "test" }
            }
            """);
        var (code, stdout, stderr) = Run("train", "--config", path, "--quiet");
        code.Should().Be(0, stderr);
        stdout.Should().Contain("answers  overall_accuracy");

        var md = File.ReadAllText(_dir.Combine("vqa", "report.md"));
        md.Should().Contain("## Table II — RSVQA accuracy (%)\n\n| Method | Count | Presence | Comparison | Urban/Rural | AA | OA |")
            .And.Contain("| Majority answer per question type |")
            .And.Contain(questionAgnostic ? "question-agnostic baseline" : "VQA head: question encoder");
        File.Exists(_dir.Combine("vqa", "report_test.md")).Should().BeTrue();
        using var report = JsonDocument.Parse(File.ReadAllText(_dir.Combine("vqa", "report.json")));
        var metrics = report.RootElement.GetProperty("tasks")[0].GetProperty("metrics");
        foreach (var name in new[] { "overall_accuracy", "average_accuracy", "count_accuracy", "presence_accuracy", "comp_accuracy", "rural_urban_accuracy" })
            metrics.TryGetProperty(name, out _).Should().BeTrue(name);
    }

    [Fact]
    public void ABadConfig_ExitsWith1AndNamesTheField()
    {
        var path = TinyConfig("bad", epochs: 1);
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"batch_size\": 8", "\"batch_size\": -1", StringComparison.Ordinal));
        var (code, _, stderr) = Run("train", "--config", path);
        code.Should().Be(1);
        stderr.Should().Contain("data:batch_size = -1");
        Run("train").Code.Should().Be(2, "--config is required");
    }
}
