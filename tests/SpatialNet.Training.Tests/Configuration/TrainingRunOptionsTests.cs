using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Modules;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Optimization;
using Xunit;

namespace SpatialNet.Training.Tests.Configuration;

public sealed class TrainingRunOptionsTests
{
    private const string Valid = """
        {
          "output_dir": "runs/x",
          "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
          "tasks": [
            { "name": "land_cover", "kind": "classification", "target": "label", "head": { "label_smoothing": 0.1, "pooling": "mean" } },
            { "name": "presence", "kind": "multi_label", "target": ["presence_building", "presence_road"] }
          ],
          "loss": { "loss_composer": "uncertainty", "l2_lambda": 0 },
          "trainer": { "seed": 3, "epochs": 2, "precision": "bfloat16_mixed" },
          "data": { "batch_size": 8, "sources": [ { "kind": "synthetic", "train_count": 20, "val_count": 10 } ] },
          // comments and trailing commas are allowed
        }
        """;

    private static TrainingRunOptions Bind(string json, params string[] sets) =>
        TrainingRunOptions.Bind(SpatialNetConfiguration.FromJson(json, "/cfg", sets), "cfg.json");

    [Fact]
    public void SnakeCaseKeys_BindOntoTheDiOptionsClasses()
    {
        var o = Bind(Valid);

        o.Seed.Should().Be(3UL);
        o.Model.ImageSize.Should().Be(32);
        o.Model.EmbedDim.Should().Be(16);
        o.Tasks[0].Target.Should().Equal("label");
        o.Tasks[1].Target.Should().Equal("presence_building", "presence_road");
        o.Tasks[0].Head.Should().BeOfType<ClassificationHeadOptions>().Which.LabelSmoothing.Should().Be(0.1);
        o.Tasks[0].Head.Pooling.Should().Be(PoolingKind.Mean);
        o.Tasks[1].Head.Should().BeOfType<MultiLabelHeadOptions>();
        o.Tasks[0].Metrics.Should().BeNull("a task without metrics gets its kind's defaults");
        o.Loss.LossComposer.Should().Be("uncertainty");
        o.Loss.L2Lambda.Should().Be(0);
        o.Trainer.Epochs.Should().Be(2);
        o.Trainer.Precision.Should().Be(PrecisionMode.BFloat16Mixed);
        o.Trainer.LearningRate.Should().Be(1e-4, "the paper's learning rate is the default");
        o.Data.BatchSize.Should().Be(8);
        o.OutputDir.Should().Be(Path.GetFullPath("/cfg/runs/x"), "relative paths resolve against the configuration's folder");
    }

    [Fact]
    public void Overrides_WinOverTheFile_AndReachListsAndNestedKeys()
    {
        var o = Bind(Valid, "model:depth=2", "trainer:epochs=5", "data:sources:0:train_count=7", "tasks:0:head:label_smoothing=0", "output_dir=/tmp/run");

        o.Model.Depth.Should().Be(2);
        o.Trainer.Epochs.Should().Be(5);
        o.Data.Sources[0].TrainCount.Should().Be(7);
        ((ClassificationHeadOptions)o.Tasks[0].Head).LabelSmoothing.Should().Be(0);
        o.OutputDir.Should().Be("/tmp/run");
    }

    [Fact]
    public void EnvironmentVariables_AreAConfigurationSource()
    {
        var file = Path.Combine(Path.GetTempPath(), $"spatialnet-env-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, Valid);
        Environment.SetEnvironmentVariable("SPATIALNET__trainer__epochs", "4");
        try
        {
            var o = TrainingRunOptions.Bind(SpatialNetConfiguration.Load(file, ["model:depth=3"]));
            o.Trainer.Epochs.Should().Be(4);
            o.Model.Depth.Should().Be(3);
            o.OutputDir.Should().Be(Path.Combine(Path.GetTempPath(), "runs", "x"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("SPATIALNET__trainer__epochs", null);
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("\"batch_size\": 8", "\"batch_size\": 0", "data:batch_size = 0: allowed an integer >= 1")]
    [InlineData("\"kind\": \"classification\"", "\"kind\": \"detection\"", "tasks:0:kind = \"detection\": allowed classification, regression, multi_label, vqa, caption, segmentation, pixel_regression (the registered task kinds).")]
    [InlineData("\"num_heads\": 2", "\"num_heads\": 3", "model: VisionTransformerOptions.NumHeads = 3")]
    [InlineData("\"loss_composer\": \"uncertainty\"", "\"loss_composer\": \"magic\"", "loss:loss_composer = \"magic\": allowed weighted_sum, uncertainty, dwa, pcgrad, gradnorm, imtl_l, rlw, gls, famo, stch, upgrad, dualproj, mgda, cagrad, imtl_g, aligned_mtl, con_fig, gradvac, fairgrad, nash_mtl, excess_mtl, graddrop, moco, db_mtl (the registered loss composers).")]
    [InlineData("\"train_count\": 20", "\"train_count\": 0", "data:sources:0:train_count = 0")]
    [InlineData("\"kind\": \"synthetic\"", "\"kind\": \"rsvqa\"", "data:sources:0:path = null: allowed the dataset folder")]
    [InlineData("\"name\": \"presence\"", "\"name\": \"land_cover\"", "tasks:1:name = \"land_cover\": allowed a name not used by another task")]
    [InlineData("\"l2_lambda\": 0", "\"l2_lambda\": -1", "SpatialNetOptions.L2Lambda = -1")]
    [InlineData("\"label_smoothing\": 0.1", "\"label_smoothing\": 1.5", "tasks:0:head: Task 'land_cover': ClassificationHeadOptions.LabelSmoothing = 1.5")]
    [InlineData("\"epochs\": 2", "\"epochs\": 0", "trainer:epochs = 0")]
    [InlineData("\"target\": \"label\",", "\"target\": \"label\", \"metrics\": [\"accuracy\", \"mae\"],", "tasks:0:metrics = \"mae\": allowed accuracy, macro_f1.")]
    public void InvalidValues_NameTheirKey(string from, string to, string message)
    {
        var act = () => Bind(Valid.Replace(from, to, StringComparison.Ordinal));
        act.Should().Throw<ConfigurationException>().Which.Message.Should().Contain("cfg.json").And.Contain(message);
    }

    [Theory]
    [InlineData("\"epochs\": 2", "\"epocs\": 2", "trainer:epocs: unknown key")]
    [InlineData("\"label_smoothing\": 0.1", "\"label_smothing\": 0.1", "tasks:0:head:label_smothing: unknown key")]
    [InlineData("\"output_dir\": \"runs/x\"", "\"outptu_dir\": \"runs/x\"", "outptu_dir: unknown key")]
    [InlineData("\"target\": \"label\"", "\"targte\": \"label\"", "tasks:0:targte: unknown key")]
    [InlineData("\"epochs\": 2", "\"epochs\": \"two\"", "trainer:epochs = \"two\": allowed an integer")]
    [InlineData("\"pooling\": \"mean\"", "\"pooling\": \"median\"", "tasks:0:head:pooling = \"median\": allowed class_token, mean, attention")]
    [InlineData("\"epochs\": 2", "\"checkpoint_directory\": \"x\"", "trainer:checkpoint_directory: set by the run")]
    [InlineData("\"pooling\": \"mean\"", "\"pooling\": \"mean\", \"metrics\": [\"accuracy\"]", "tasks:0:head:metrics: unknown key")]
    public void UnknownKeysAndWrongTypes_AreErrorsNamingTheKey(string from, string to, string message)
    {
        var act = () => Bind(Valid.Replace(from, to, StringComparison.Ordinal));
        act.Should().Throw<ConfigurationException>().Which.Message.Should().Contain(message);
    }

    [Fact]
    public void AnOverrideOfAnUnknownKey_IsAnError()
    {
        var act = () => Bind(Valid, "model:dpeth=2");
        act.Should().Throw<ConfigurationException>().WithMessage("*model:dpeth: unknown key*");
        var malformed = () => Bind(Valid, "model:depth");
        malformed.Should().Throw<ConfigurationException>().WithMessage("*expected key=value*");
    }

    [Fact]
    public void ATaskNoSourceServes_IsReported()
    {
        var json = Valid.Replace("{ \"kind\": \"synthetic\",", "{ \"kind\": \"synthetic\", \"targets\": { \"land_cover\": \"label\" },", StringComparison.Ordinal);
        var act = () => Bind(json);
        act.Should().Throw<ConfigurationException>().WithMessage("*task 'presence' gets targets from no source*");
    }

    [Fact]
    public void TheRunsConfigJson_LoadsBackToTheSameOptions()
    {
        var configuration = SpatialNetConfiguration.FromJson(Valid, "/cfg");
        var written = ConfigurationJson.Write(configuration);

        var again = TrainingRunOptions.Bind(SpatialNetConfiguration.FromJson(written, "/elsewhere"));

        again.OutputDir.Should().Be(Path.GetFullPath("/cfg/runs/x"), "paths are written resolved");
        again.Tasks.Select(t => t.Name).Should().Equal("land_cover", "presence");
        again.Tasks[1].Target.Should().Equal("presence_building", "presence_road");
        again.Trainer.Precision.Should().Be(PrecisionMode.BFloat16Mixed);
        again.Model.Depth.Should().Be(1);
    }

    [Fact]
    public void AddSpatialNetFromConfiguration_RegistersTheSameModelAsTheBuilder()
    {
        var json = """
            {
              "model": { "image_size": 32, "patch_size": 16, "embed_dim": 16, "depth": 1, "num_heads": 2 },
              "tasks": [
                { "name": "land_use", "kind": "classification", "head": { "num_classes": 5, "loss_weight": 0.5 } },
                { "name": "count", "kind": "regression", "head": { "outputs": 2 } }
              ],
              "loss": { "l2_lambda": 0.02, "loss_composer": "dwa", "dwa": { "temperature": 3 } }
            }
            """;
        var fromConfig = new ServiceCollection()
            .AddSpatialNet(SpatialNetConfiguration.FromJson(json)).BuildServiceProvider();
        var fromBuilder = new ServiceCollection()
            .AddSpatialNet(sn => sn
                .UseVisionTransformer(o => { o.ImageSize = 32; o.PatchSize = 16; o.EmbedDim = 16; o.Depth = 1; o.NumHeads = 2; })
                .AddClassificationTask("land_use", 5, o => o.LossWeight = 0.5)
                .AddRegressionTask("count", o => o.Outputs = 2)
                .UseL2(0.02)
                .Configure(o => o.LossComposer = "dwa"))
            .Configure<Losses.DynamicWeightAverageOptions>("dwa", o => o.Temperature = 3)
            .BuildServiceProvider();

        static IEnumerable<(string, long[])> Shapes(IServiceProvider sp)
        {
            var model = sp.GetRequiredService<Models.MultiTaskModel>();
            return model.named_parameters().Select(p => (p.name, p.parameter.shape)).ToList();
        }

        Shapes(fromConfig).Should().BeEquivalentTo(Shapes(fromBuilder), o => o.WithStrictOrdering());
        fromConfig.GetRequiredService<Losses.ILossComposer>()
            .Should().BeOfType<Losses.DynamicWeightAverage>().Which.Temperature.Should().Be(3);
        fromBuilder.GetRequiredService<Losses.ILossComposer>()
            .Should().BeOfType<Losses.DynamicWeightAverage>().Which.Temperature.Should().Be(3);
        fromConfig.GetRequiredService<Losses.L2Regularization>()
            .Lambda.Should().Be(0.02);
    }

    [Theory]
    [InlineData(null, 3)]
    [InlineData("5", 5)]
    public void PCGradsSeed_IsTheRunsSeed_UnlessItsSectionSetsIt(string? seed, int expected)
    {
        var sets = new List<string> { "loss:loss_composer=pcgrad", "tasks:0:head:num_classes=4", "tasks:1:head:num_labels=2" };
        if (seed is not null)
            sets.Add("loss:pcgrad:seed=" + seed);
        var configuration = SpatialNetConfiguration.FromJson(Valid, "/cfg", [.. sets]);
        var config = TrainingRunOptions.Bind(configuration);
        var tasks = config.Tasks.Select(t => SpatialNet.Training.Pipeline.TrainingPipeline.Describe(t, null)).ToList();

        using var sp = SpatialNet.Training.Pipeline.TrainingPipeline.BuildModelServices(configuration, config.Tasks, tasks, config.Model, config.Seed);

        sp.GetRequiredService<Losses.ILossComposer>().Should().BeOfType<Losses.PCGrad>().Which.Seed.Should().Be(expected);
    }

    [Theory]
    [InlineData("gradvac", null, 3)]
    [InlineData("gradvac", "5", 5)]
    [InlineData("graddrop", null, 3)]
    [InlineData("rlw", null, 3)]
    [InlineData("rlw", "8", 8)]
    public void EveryRandomStrategysSeed_IsTheRunsSeed_UnlessItsSectionSetsIt(string name, string? seed, int expected)
    {
        var sets = new List<string> { "loss:loss_composer=" + name, "tasks:0:head:num_classes=4", "tasks:1:head:num_labels=2" };
        if (seed is not null)
            sets.Add($"loss:{name}:seed=" + seed);
        var configuration = SpatialNetConfiguration.FromJson(Valid, "/cfg", [.. sets]);
        var config = TrainingRunOptions.Bind(configuration);
        var tasks = config.Tasks.Select(t => SpatialNet.Training.Pipeline.TrainingPipeline.Describe(t, null)).ToList();

        using var sp = SpatialNet.Training.Pipeline.TrainingPipeline.BuildModelServices(configuration, config.Tasks, tasks, config.Model, config.Seed);

        var composer = sp.GetRequiredService<Losses.ILossComposer>();
        int actual = composer switch
        {
            Losses.RandomLossWeighting r => r.Seed,
            Losses.GradientComposer { Aggregator: Losses.GradVacAggregator g } => g.Seed,
            Losses.GradientComposer { Aggregator: Losses.GradDropAggregator d } => d.Seed,
            _ => throw new InvalidOperationException(composer.Name),
        };
        actual.Should().Be(expected);
    }

    [Fact]
    public void AFormerLossKey_NamesItsNewKey()
    {
        var act = () => Bind(Valid, "loss:dwa_temperature=3");

        act.Should().Throw<ConfigurationException>().WithMessage("*loss:dwa_temperature: moved; write loss:dwa:temperature*");
    }
}
