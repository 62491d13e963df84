using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.DependencyInjection;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Evaluation;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Tests.Training;
using SpatialNet.Training.Pipeline;
using Xunit;

namespace SpatialNet.Training.Tests.Configuration;

/// <summary>AddSpatialNetTraining: a run configured by a section of a host's configuration, resolved from the container.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class TrainingServicesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private IConfiguration Host(params string[] sets) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Information",   // a host's own keys beside the run's section
        ["SpatialNet:output_dir"] = _dir.Combine("run"),
        ["SpatialNet:threads"] = "1",
        ["SpatialNet:model:image_size"] = "32",
        ["SpatialNet:model:patch_size"] = "16",
        ["SpatialNet:model:embed_dim"] = "16",
        ["SpatialNet:model:depth"] = "1",
        ["SpatialNet:model:num_heads"] = "2",
        ["SpatialNet:tasks:0:name"] = "land_cover",
        ["SpatialNet:tasks:0:kind"] = "classification",
        ["SpatialNet:tasks:0:target"] = "label",
        ["SpatialNet:trainer:epochs"] = "2",
        ["SpatialNet:trainer:show_progress"] = "false",
        ["SpatialNet:trainer:write_charts"] = "false",
        ["SpatialNet:data:batch_size"] = "8",
        ["SpatialNet:data:sources:0:kind"] = "synthetic",
        ["SpatialNet:data:sources:0:train_count"] = "16",
        ["SpatialNet:data:sources:0:val_count"] = "8",
    }).AddInMemoryCollection(sets.Select(SpatialNetConfiguration.ParseOverride)).Build();

    [Fact]
    public void ARunResolvedFromTheContainer_TrainsWithTheRegisteredCallbacks()
    {
        var epochs = new EpochCounter();
        using var services = new ServiceCollection()
            .AddSpatialNetTraining(Host().GetSection("SpatialNet"))
            .AddSingleton<ITrainerCallback>(epochs)
            .BuildServiceProvider();
        services.ValidateSpatialNet();

        var run = services.GetRequiredService<TrainingPipeline>().Run();

        run.Training.EpochsCompleted.Should().Be(2);
        epochs.Epochs.Should().Equal(1, 2);
        services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TrainingRunOptions>>().Value.Trainer.Epochs.Should().Be(2);
        File.Exists(Path.Combine(_dir.Combine("run"), "config.json")).Should().BeTrue();
    }

    [Fact]
    public void AHost_RemovesTheCheckpointCallback_AndStopsTrainingWithItsOwn()
    {
        var collection = new ServiceCollection().AddSpatialNetTraining(Host("SpatialNet:trainer:epochs=3").GetSection("SpatialNet"));
        collection.Remove(collection.Single(d => d.ServiceType == typeof(ITrainerCallback) && d.ImplementationType == typeof(CheckpointCallback)));
        collection.AddSingleton<ITrainerCallback, StopAfterFirstEpoch>();
        using var services = collection.BuildServiceProvider();

        var run = services.GetRequiredService<TrainingPipeline>().Run();

        run.Training.StopReason.Should().Be(StopReason.EarlyStopped);
        run.Training.EpochsCompleted.Should().Be(1, "the host's callback stopped the loop after epoch 1 of 3");
        run.Training.LastCheckpoint.Should().BeNull();
        Directory.Exists(Path.Combine(_dir.Combine("run"), "checkpoints")).Should().BeFalse("no callback writes checkpoints");
        File.Exists(run.ModelWeights).Should().BeTrue("the final state is still the run's model");
        services.GetServices<ITrainerCallback>().Select(c => c.GetType()).Should().Equal(typeof(EarlyStoppingCallback), typeof(StopAfterFirstEpoch));
    }

    [Fact]
    public void TheStandardCallbacks_AreRegistered_AndWriteTheRunsCheckpoints()
    {
        using var services = new ServiceCollection().AddSpatialNetTraining(Host().GetSection("SpatialNet")).BuildServiceProvider();

        services.GetServices<ITrainerCallback>().Select(c => c.GetType()).Should().Equal(typeof(CheckpointCallback), typeof(EarlyStoppingCallback));
        var run = services.GetRequiredService<TrainingPipeline>().Run();

        run.Training.LastCheckpoint.Should().Be(Path.Combine(_dir.Combine("run"), "checkpoints", Trainer.LastCheckpointName));
        File.Exists(run.Training.LastCheckpoint).Should().BeTrue();
    }

    [Fact]
    public void AHost_ReplacesTheReportWriter()
    {
        var writer = new RecordingWriter();
        using var services = new ServiceCollection()
            .AddSingleton<IReportWriter>(writer)
            .AddSpatialNetTraining(Host("SpatialNet:trainer:epochs=1").GetSection("SpatialNet"))
            .BuildServiceProvider();

        var run = services.GetRequiredService<TrainingPipeline>().Run();

        writer.Names.Should().Equal("report");
        run.ReportJson.Should().Be(Path.Combine(_dir.Combine("run"), "report.json"));
        File.Exists(run.ReportJson).Should().BeTrue();
    }

    [Fact]
    public void AHost_AddsItsOwnEvaluator_ThroughTheContainer()
    {
        var factory = new ParameterCountEvaluators();
        using var services = new ServiceCollection()
            .AddSingleton<IEvaluatorFactory>(factory)
            .AddSpatialNetTraining(Host("SpatialNet:data:sources:0:test_count=8", "SpatialNet:data:test_split=test").GetSection("SpatialNet"))
            .BuildServiceProvider();

        var run = services.GetRequiredService<TrainingPipeline>().Run();

        // Asked for the evaluation split and the test split, with the run's own model.
        factory.Splits.Should().Equal("val", "test");
        // The model is disposed with the run; its size was read when the factory was asked.
        var parameters = factory.ParametersAtCreate;
        parameters.Should().BeGreaterThan(0);
        run.Training.History.Epochs.Select(e => e.Metrics["host/epoch"]).Should().Equal(1.0, 2.0);
        run.Training.History.Epochs.Should().OnlyContain(e => e.Metrics["host/parameters"] == parameters);
        File.ReadAllText(run.ReportMarkdown).Should().Contain($"| host evaluator | val: {parameters} parameters |");
        File.ReadAllText(Path.Combine(_dir.Combine("run"), "report_test.md")).Should().Contain($"| host evaluator | test: {parameters} parameters |");
    }

    // A host's evaluator: the epoch number and the model's parameter count, and one row in the report.
    private sealed class ParameterCountEvaluators : IEvaluatorFactory
    {
        public List<string> Splits { get; } = [];

        public long ParametersAtCreate { get; private set; }

        public IEnumerable<IEvaluator> Create(SpatialNet.Models.MultiTaskModel model, string split)
        {
            Splits.Add(split);
            ParametersAtCreate = model.parameters().Sum(p => p.numel());
            yield return new Counter(model, split);
        }

        private sealed class Counter(SpatialNet.Models.MultiTaskModel model, string split) : IEvaluator
        {
            public string Split => split;

            private long Parameters => model.parameters().Sum(p => p.numel());

            public IReadOnlyDictionary<string, double> Evaluate(EvaluationContext context) =>
                new Dictionary<string, double> { ["host/epoch"] = context.Epoch, ["host/parameters"] = Parameters };

            public void AddTo(EvaluationReport report, Func<IReadOnlyDictionary<string, TorchSharp.torch.Tensor>, IReadOnlyDictionary<string, TorchSharp.torch.Tensor>>? prepare = null) =>
                report.With("host evaluator", $"{split}: {Parameters} parameters");
        }
    }

    [Fact]
    public void ATypoInTheSection_FailsAtStart_NamingTheKey()
    {
        using var services = new ServiceCollection()
            .AddSpatialNetTraining(Host("SpatialNet:trainer:epocs=3").GetSection("SpatialNet"))
            .BuildServiceProvider();

        var act = () => services.ValidateSpatialNet();

        act.Should().Throw<ConfigurationException>().WithMessage("*SpatialNet:trainer:epocs: unknown key*");
    }

    // Records what it is asked to write and writes it as the standard writer does.
    private sealed class RecordingWriter : IReportWriter
    {
        public List<string> Names { get; } = [];

        public (string Json, string Markdown) Write(EvaluationReport report, string directory, string name)
        {
            Names.Add(name);
            return new EvaluationReportWriter().Write(report, directory, name);
        }
    }

    [Fact]
    public void AHostsOwnTaskKindAndLossComposer_AreNamedByConfiguration_AndTrained()
    {
        var kind = new GradeKind();
        var services = new ServiceCollection()
            .AddTaskKind(kind)
            .AddSpatialNetTraining(Host("SpatialNet:tasks:0:kind=grade", "SpatialNet:loss:loss_composer=half_sum", "SpatialNet:loss:half_sum:factor=0.5",
                "SpatialNet:trainer:epochs=1").GetSection("SpatialNet"));
        services.AddLossComposer<HalfSum, HalfSumOptions>("half_sum", (sp, o) => new HalfSum(o.Factor));
        using var provider = services.BuildServiceProvider();

        var run = provider.GetRequiredService<TrainingPipeline>().Run();

        kind.HeadsBuilt.Should().Be(1, "the run's model was built with the host's head factory");
        run.Report.Result.Tasks.Single().Metrics.Keys.Should().Equal(["accuracy"], "the host's kind names its metrics");
        run.Report.Run.Should().Contain(kv => kv.Key == "loss" && kv.Value.StartsWith("half_sum", StringComparison.Ordinal));
    }

    // A host's task kind: a classification head under its own name, scored by accuracy alone.
    private sealed class GradeKind() : Heads.TaskKindRegistration<Heads.ClassificationHeadOptions>("grade", Heads.TaskKind.Classification), ITrainingTaskKind
    {
        public int HeadsBuilt { get; private set; }

        public IReadOnlyList<string> Metrics { get; } = [TaskMetricNames.Accuracy];

        public override Heads.TaskHead CreateHead(IServiceProvider services, string taskName, Heads.TokenLayout layout, Heads.ClassificationHeadOptions options)
        {
            HeadsBuilt++;
            return new Heads.ClassificationHead(taskName, layout, options);
        }

        // The class count comes from the data; a placeholder lets configuration be checked before.
        public override void UsePlaceholderSizes(Heads.TaskHeadOptions options, int modelNumHeads, Func<string, bool> isSet) =>
            ((Heads.ClassificationHeadOptions)options).NumClasses = 2;
    }

    private sealed class HalfSumOptions : Losses.LossComposerOptions
    {
        public double Factor { get; set; } = 1;
    }

    // A host's loss composer: factor · Σ_t L_t.
    private sealed class HalfSum(double factor) : Losses.ILossComposer
    {
        public string Name => "half_sum";

        public Losses.ComposedLoss Compose(IReadOnlyDictionary<string, TorchSharp.torch.Tensor> taskLosses, Losses.LossContext context) =>
            new(taskLosses.Values.Aggregate((a, b) => a + b) * factor, taskLosses, taskLosses.ToDictionary(kv => kv.Key, _ => factor));
    }

    private sealed class StopAfterFirstEpoch : ITrainerCallback
    {
        public void OnEpochEnd(Trainer trainer, EpochRecord record, bool improved) => trainer.RequestStop();
    }

    private sealed class EpochCounter : ITrainerCallback
    {
        public List<int> Epochs { get; } = [];

        public void OnEpochEnd(Trainer trainer, EpochRecord record, bool improved) => Epochs.Add(record.Epoch);
    }
}
