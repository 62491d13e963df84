using Microsoft.Extensions.Configuration;
using FluentAssertions;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Configuration;
using SpatialNet.IO;
using SpatialNet.Modules;
using SpatialNet.Weights;
using SpatialNet.Training.Checkpoints;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Optimization;
using SpatialNet.Training.Synthetic;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Pipeline;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace SpatialNet.Training.Tests.Training;

[Collection(TorchGlobalRngCollection.Name)]
public sealed class ReliabilityTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string SaveCheckpoint(string name)
    {
        manual_seed(3);
        var model = nn.Linear(3, 2);
        using var buffers = new FlatParameterBuffers(model, ParameterGroups.DecayAndNoDecay(model));
        using var opt = new FlatAdamW(buffers);
        var path = _dir.Combine(name);
        TrainingCheckpoint.Save(path, model, opt, null, new TrainingPosition(0, 0, 0));
        return path;
    }

    [Fact]
    public void FlippedBitInACheckpoint_IsRefusedOnLoadAndResume()
    {
        var path = SaveCheckpoint("last.safetensors");
        // Intact: loads.
        using (var scope = NewDisposeScope())
            TrainingCheckpoint.ReadModelWeights(path).Should().ContainKey("weight");

        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0x01;   // the last data byte: the rng state, which no shape or offset check can notice
        File.WriteAllBytes(path, bytes);

        var model = nn.Linear(3, 2);
        using var buffers = new FlatParameterBuffers(model, ParameterGroups.DecayAndNoDecay(model));
        using var opt = new FlatAdamW(buffers);
        FluentActions.Invoking(() => TrainingCheckpoint.Restore(path, model, opt)).Should().Throw<CheckpointException>()
            .WithMessage($"Checkpoint '{path}' is damaged: the SHA-256 of its tensor data*");
        FluentActions.Invoking(() => TrainingCheckpoint.ReadModelWeights(path)).Should().Throw<CheckpointException>().WithMessage("*damaged*");
        FluentActions.Invoking(() => TrainingCheckpoint.ReadInfo(path)).Should().Throw<CheckpointException>().WithMessage("*damaged*");
        using var o = new StringWriter();
        using var e = new StringWriter();
        SpatialNet.Cli.Cli.Run(["weights", "inspect", path], o, e).Should().Be(1, "inspecting a damaged checkpoint reports it");
        e.ToString().Should().Contain($"Checkpoint '{path}' is damaged");
    }

    [Theory]
    [InlineData(1, 2, 12, 10, true)]
    [InlineData(0, 0, 0, 10, true)]
    [InlineData(3, 0, 30, 10, true)]
    [InlineData(1, 2, 99, 10, false)]
    [InlineData(1, 11, 21, 10, false)]
    public void GlobalStep_IsCheckedAgainstEpochAndBatch(int epoch, int batch, long step, int perEpoch, bool ok)
    {
        var act = () => Trainer.CheckPosition("c.safetensors", new TrainingPosition(epoch, batch, step), perEpoch);
        if (ok)
            act.Should().NotThrow();
        else
            act.Should().Throw<CheckpointException>().WithMessage($"Checkpoint 'c.safetensors': global_step {step} does not match epoch {epoch} and batch_in_epoch {batch}*");
    }

    [Fact]
    public void ACheckpointWhoseOptimizerStepsDisagreeWithGlobalStep_IsRefusedOnResume()
    {
        // Position epoch 0, batch 2, global_step 2 agrees with itself; the optimizer has taken no step.
        var fixture = new TrainerFixture(initSeed: 1);
        var options = TrainerFixture.Options();
        options.MonitorMetric = null;
        using var trainer = new Trainer(fixture.Trainable, fixture.Source, options);
        var path = _dir.Combine("c.safetensors");
        TrainingCheckpoint.Save(path, fixture.Trainable.Module, trainer.Optimizer, trainer.Schedule, new TrainingPosition(0, 2, 2), trainer.Random);

        FluentActions.Invoking(() => trainer.ResumeFrom(path)).Should().Throw<CheckpointException>()
            .WithMessage($"Checkpoint '{path}': the optimizer has taken 0 steps, the position says global_step 2*");
    }

    [Fact]
    public void RunDirectory_RefusesANonEmptyFolder_UnlessResumingOrOverwritingARun()
    {
        var run = _dir.Combine("run");
        RunDirectory.Prepare(run, resuming: false, overwrite: false);   // new folder
        Directory.Exists(run).Should().BeTrue();
        RunDirectory.Prepare(run, resuming: false, overwrite: false);   // empty folder
        File.WriteAllText(Path.Combine(run, "config.json"), "{}");
        Directory.CreateDirectory(Path.Combine(run, "checkpoints"));
        File.WriteAllText(Path.Combine(run, "checkpoints", "last.safetensors"), "x");
        var stale = Path.Combine(run, "checkpoints", $"{AtomicFile.TempPrefix}last.safetensors.{int.MaxValue - 1}.abc");
        File.WriteAllText(stale, "half");

        FluentActions.Invoking(() => RunDirectory.Prepare(run, resuming: false, overwrite: false)).Should().Throw<ConfigurationException>()
            .WithMessage($"output_dir = '{run}' is not empty (checkpoints, config.json)*--resume*--overwrite*");
        File.Exists(stale).Should().BeFalse("a killed writer's temporary is removed");

        RunDirectory.Prepare(run, resuming: true, overwrite: false);
        File.Exists(Path.Combine(run, "checkpoints", "last.safetensors")).Should().BeTrue("resuming keeps the run");

        RunDirectory.Prepare(run, resuming: false, overwrite: true);
        Directory.EnumerateFileSystemEntries(run).Select(Path.GetFileName).Should().Equal([RunDirectory.ManifestFile],
            "overwriting clears the previous run; the new run's manifest is all that is left");

        var other = _dir.Combine("other");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "thesis.tex"), "precious");
        FluentActions.Invoking(() => RunDirectory.Prepare(other, resuming: false, overwrite: true)).Should().Throw<ConfigurationException>()
            .WithMessage($"output_dir = '{other}' is not a SpatialNet run folder (thesis.tex; no {RunDirectory.ManifestFile}*");
        File.Exists(Path.Combine(other, "thesis.tex")).Should().BeTrue();
    }

    [Fact]
    public void Overwrite_RefusesAFolderWithTheUsersOwnConfigJson_AndRemovesOnlyWhatARunWrote()
    {
        // A user's project folder: its own config.json, notes and sources. Not a run: --overwrite refuses it, naming it.
        var project = _dir.Combine("project");
        Directory.CreateDirectory(Path.Combine(project, "src"));
        File.WriteAllText(Path.Combine(project, "config.json"), "{ \"mine\": true }");
        File.WriteAllText(Path.Combine(project, "notes.md"), "notes");
        File.WriteAllText(Path.Combine(project, "src", "main.py"), "print(1)");

        FluentActions.Invoking(() => RunDirectory.Prepare(project, resuming: false, overwrite: true)).Should().Throw<ConfigurationException>()
            .WithMessage($"output_dir = '{project}' is not a SpatialNet run folder*");
        Directory.EnumerateFileSystemEntries(project, "*", SearchOption.AllDirectories).Should().HaveCount(4, "nothing is deleted");

        // A run folder the user added a file to: overwriting removes the run's entries and keeps the user's file.
        var run = _dir.Combine("run2");
        RunDirectory.Prepare(run, resuming: false, overwrite: false);
        Directory.CreateDirectory(Path.Combine(run, "checkpoints"));
        File.WriteAllText(Path.Combine(run, "checkpoints", "last.safetensors"), "x");
        File.WriteAllText(Path.Combine(run, "config.json"), "{}");
        File.WriteAllText(Path.Combine(run, "report_val.md"), "evaluated later");
        RunDirectory.Record(run, ["report_val.md"]);
        File.WriteAllText(Path.Combine(run, "analysis.ipynb"), "the user's");

        RunDirectory.Prepare(run, resuming: false, overwrite: true);

        Directory.EnumerateFileSystemEntries(run).Select(Path.GetFileName).Order(StringComparer.Ordinal)
            .Should().Equal("analysis.ipynb", RunDirectory.ManifestFile);
    }

    [Fact]
    public void AManifestNamingAPathOutsideTheFolder_IsNotARunManifest()
    {
        var run = _dir.Combine("hostile");
        Directory.CreateDirectory(run);
        var outside = _dir.Combine("outside.txt");
        File.WriteAllText(outside, "keep");
        File.WriteAllText(Path.Combine(run, RunDirectory.ManifestFile), "{ \"format\": \"spatialnet-run\", \"written\": [\"../outside.txt\"] }");
        File.WriteAllText(Path.Combine(run, "config.json"), "{}");

        FluentActions.Invoking(() => RunDirectory.Prepare(run, resuming: false, overwrite: true)).Should().Throw<ConfigurationException>()
            .WithMessage("*not a SpatialNet run folder*");
        File.Exists(outside).Should().BeTrue();
    }

    [Fact]
    public void Pretrained_LoadsStrictly_IgnoringAClassifier_AndRefusesAnotherWidth()
    {
        static VisionTransformerOptions Options(int dim, int classes)
        {
            var o = VisionTransformerOptions.Tiny();
            o.Depth = 1; o.EmbedDim = dim; o.NumClasses = classes;
            return o;
        }
        var timm = _dir.Combine("timm.safetensors");
        using (var source = new VisionTransformer(Options(64, 10)))
            ModelWeights.Save(source, timm);
        var wide = _dir.Combine("wide.safetensors");
        using (var source = new VisionTransformer(Options(32, 0)))
            ModelWeights.Save(source, wide);
        using var encoder = new VisionTransformer(Options(64, 0));

        var report = ModelWeights.Load(encoder, timm, TrainingPipeline.PretrainedLoadOptions(null));
        report.Missing.Should().BeEmpty();
        report.Unexpected.Should().Equal("head.bias", "head.weight");

        FluentActions.Invoking(() => ModelWeights.Load(encoder, wide, TrainingPipeline.PretrainedLoadOptions(null)))
            .Should().Throw<WeightLoadException>().WithMessage($"*'{wide}'*shape mismatch: cls_token: model [1, 1, 64], checkpoint [1, 1, 32]*");
        using var noBlocks = new StateDict();
        using (var all = StateDictFile.Read(timm))
            foreach (var (k, t) in all)
                if (!k.StartsWith("blocks.", StringComparison.Ordinal)) noBlocks[k] = t.clone();
        FluentActions.Invoking(() => ModelWeights.Load(encoder, noBlocks, TrainingPipeline.PretrainedLoadOptions(null))).Should().Throw<WeightLoadException>()
            .WithMessage("*missing: blocks.0.*");
        ModelWeights.Load(encoder, noBlocks, TrainingPipeline.PretrainedLoadOptions(["blocks."])).Missing.Should().NotBeEmpty();
    }

    [Fact]
    public void Pretrained_HuggingFaceCheckpoint_WithOtherNormEpsOrQkvBias_IsRefused()
    {
        // HF ViTConfig: layer_norm_eps 1e-12 when config.json leaves it out; qkv_bias true. Shapes cannot tell eps apart.
        var folder = Directory.CreateDirectory(_dir.Combine("hf")).FullName;
        var weights = Path.Combine(folder, "model.safetensors");
        using (var scope = NewDisposeScope())
            StateDictFile.Write(weights, new Dictionary<string, Tensor> { ["vit.embeddings.cls_token"] = zeros(1, 1, 64) });
        File.WriteAllText(Path.Combine(folder, "config.json"), """{ "hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4 }""");
        var o = VisionTransformerOptions.Tiny();

        FluentActions.Invoking(() => TrainingPipeline.CheckPretrainedSettings(weights, o)).Should().Throw<ConfigurationException>()
            .WithMessage($"pretrained = '{weights}'*model:norm_eps = 1E-06, the checkpoint's layer_norm_eps = 1E-12*");
        o.NormEps = 1e-12;
        TrainingPipeline.CheckPretrainedSettings(weights, o);
        o.QkvBias = false;
        FluentActions.Invoking(() => TrainingPipeline.CheckPretrainedSettings(weights, o)).Should().Throw<ConfigurationException>()
            .WithMessage("*model:qkv_bias = false, the checkpoint's qkv_bias = true*");
    }

    [Fact]
    public void ATrainingBatchWhoseActivationsCannotFit_IsRefusedBeforeTheDataIsReadOrTheModelBuilt()
    {
        // Activations by hand: 10⁶ images × (256/16)² + 1 = 257 tokens × 256 channels × 8 blocks × 17 values
        // × 4 bytes = 3.579e13 bytes = 32.6 TiB.
        var output = _dir.Combine("run");
        var config = SpatialNetConfiguration.FromJson($$"""
            {
              "output_dir": "{{output.Replace("\\", "/", StringComparison.Ordinal)}}",
              "device": "cpu",
              "model": { "image_size": 256, "patch_size": 16, "embed_dim": 256, "depth": 8, "num_heads": 4 },
              "tasks": [ { "name": "land_cover", "kind": "classification", "target": "label" } ],
              "trainer": { "epochs": 1, "precision": "float32", "show_progress": false, "write_charts": false },
              "data": { "batch_size": 1000000, "sources": [ { "kind": "synthetic", "train_count": 1000000, "val_count": 10 } ] }
            }
            """);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var run = () => TrainingPipeline.Run(config);

        var error = run.Should().Throw<ResourceLimitException>().Which;
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "nothing is drawn, scanned or allocated");
        error.Option.Should().Be("data:batch_size");
        error.Message.Should().Contain("data:batch_size = 1000000").And.Contain("model:image_size = 256").And.Contain("model:embed_dim = 256")
            .And.Contain("model:depth = 8").And.Contain("activations 32.6 TiB").And.Contain("free memory");
        error.Message.Should().MatchRegex("at most data:batch_size = [0-9]+ fits|not even data:batch_size = 1 fits");
        Directory.Exists(output).Should().BeFalse("the run folder is prepared only after the checks");
    }

    /// <summary>A one-epoch classification run on synthetic scenes, with <paramref name="data"/> added to its data section.</summary>
    private static IConfiguration SmallRun(string output, string data) => SpatialNetConfiguration.FromJson($$"""
        {
          "output_dir": "{{output.Replace("\\", "/", StringComparison.Ordinal)}}",
          "device": "cpu",
          "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
          "tasks": [ { "name": "land_cover", "kind": "classification", "target": "label" } ],
          "trainer": { "epochs": 1, "show_progress": false, "write_charts": false },
          "data": { "batch_size": 4, {{data}} }
        }
        """);

    [Fact]
    public void AMisspeltEvalSplit_IsRefusedBeforeTraining()
    {
        var output = _dir.Combine("run");
        var config = SmallRun(output, "\"sources\": [ { \"kind\": \"synthetic\", \"train_count\": 8, \"val_count\": 4, \"test_count\": 4 } ], \"eval_split\": \"vall\"");

        var run = () => TrainingPipeline.Run(config);

        run.Should().Throw<ConfigurationException>().WithMessage("data:eval_split = \"vall\": no source has this split*");
        Directory.Exists(output).Should().BeFalse("nothing is trained or written");
    }

    [Fact]
    public void ATestSplitTheDataDoesNotHave_IsSaidInTheReport_AndNoTestReportIsWritten()
    {
        // A configuration may name a test split that only the held-out copy of a data set has.
        var output = _dir.Combine("run");
        var config = SmallRun(output, "\"sources\": [ { \"kind\": \"synthetic\", \"train_count\": 8, \"val_count\": 4 } ], \"test_split\": \"tset\"");

        var run = TrainingPipeline.Run(config);

        run.TestReport.Should().BeNull();
        File.Exists(Path.Combine(output, "report_test.json")).Should().BeFalse();
        File.ReadAllText(run.ReportMarkdown).Should().Contain("data:test_split = \"tset\": no source has this split, so no report_test is written");
    }

    [Fact]
    public void DuplicateConfigKey_IsAnErrorNamingTheKey()
    {
        var file = _dir.Combine("cfg.json");
        File.WriteAllText(file, "{\"trainer\": {\"epochs\": 1, \"seed\": 2, \"epochs\": 3}}");
        var act = () => SpatialNetConfiguration.Load(file, environment: false);

        act.Should().Throw<ConfigurationException>().WithMessage("*cfg.json*epochs*");
    }

    [Theory]
    [InlineData(40000)]
    [InlineData(2000000000)]
    public void SyntheticSceneSize_BeyondTheLimit_IsRefusedBeforeDrawing(int size)
    {
        var act = () => new SyntheticSceneGenerator(new SyntheticSceneOptions { ImageSize = size });

        act.Should().Throw<ResourceLimitException>().WithMessage($"*--size*= {size}; allowed: 32 to 4096*");
    }

    [Theory]
    [InlineData("40000", "--size", "2147483647")]
    [InlineData("2000000000", "--count", "5")]
    [InlineData("64", "--count", "2147483647")]
    public void Cli_SyntheticSizes_ExitOneWithAMessage_NoStackTrace(string size, string other, string value)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        string[] args = other == "--size"
            ? ["synthetic", "--format", "ucm-caption", "--out", _dir.Combine("s"), "--size", size]
            : ["synthetic", "--format", "ucm-caption", "--out", _dir.Combine("s"), "--size", size, other, value];

        int code = SpatialNet.Cli.Cli.Run(args, o, e);

        code.Should().Be(1);
        e.ToString().Should().StartWith("spatialnet: ").And.NotContain("   at ").And.NotContain("-429496729");
        e.ToString().Should().Contain(size == "64" ? "2147483650 scenes of 64×64 would need up to" : $"= {size}; allowed: 32 to 4096");
        Directory.Exists(_dir.Combine("s")).Should().BeFalse("a refused set writes nothing");
    }

    [Theory]
    [InlineData("synthetic", "--size", "abc")]
    [InlineData("synthetic", "--count", "4294967297")]
    [InlineData("train", "--epochs", "many")]
    [InlineData("train", "--max-steps", "1e99")]
    public void Cli_AValueThatIsNotANumber_IsAUsageError_NotACrash(string command, string option, string value)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        string[] args = command == "synthetic"
            ? ["synthetic", "--format", "ucm-caption", "--out", _dir.Combine("s"), option, value]
            : ["train", "--config", _dir.Combine("none.json"), option, value];

        int code = SpatialNet.Cli.Cli.Run(args, o, e);

        code.Should().Be(2);
        e.ToString().Should().Contain($"'{value}'").And.Contain(option).And.NotContain("   at ");
    }

    [Fact]
    public void Cli_HuggingFaceQkvMismatch_ExitsOne_NamingTheFile_WithoutCppFrames()
    {
        var path = _dir.Combine("hf.safetensors");
        using (var scope = NewDisposeScope())
        {
            SpatialNet.Weights.StateDictFile.Write(path, new Dictionary<string, Tensor>
            {
                ["vit.embeddings.patch_embeddings.projection.weight"] = zeros(4, 3, 2, 2),
                ["vit.encoder.layer.0.attention.attention.query.weight"] = zeros(4, 4),
                ["vit.encoder.layer.0.attention.attention.key.weight"] = zeros(3, 4),
                ["vit.encoder.layer.0.attention.attention.value.weight"] = zeros(4, 4),
            });
        }
        using var o = new StringWriter();
        using var e = new StringWriter();

        int code = SpatialNet.Cli.Cli.Run(["weights", "convert", path, _dir.Combine("out.safetensors")], o, e);

        code.Should().Be(1);
        e.ToString().Should().Contain(path).And.Contain("key [3, 4]").And.NotContain("frame #").And.NotContain("   at ");
        File.Exists(_dir.Combine("out.safetensors")).Should().BeFalse();
    }

    [Fact]
    public void Cli_Verbose_ShowsTheStackTrace()
    {
        using var o = new StringWriter();
        using var e = new StringWriter();

        int code = SpatialNet.Cli.Cli.Run(["weights", "inspect", _dir.Combine("none.safetensors"), "--verbose"], o, e);

        code.Should().Be(1);
        e.ToString().Should().Contain("none.safetensors").And.Contain("   at ");
    }
}
