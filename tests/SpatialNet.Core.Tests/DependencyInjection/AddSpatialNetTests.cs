using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SpatialNet.Core.Tests.Models;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Losses;
using SpatialNet.Models;
using SpatialNet.Modules;
using Xunit;

namespace SpatialNet.Core.Tests.DependencyInjection;

public class AddSpatialNetTests
{
    private static void Tiny(VisionTransformerOptions o)
    {
        var tiny = TinyModels.EncoderOptions();
        o.ImageSize = tiny.ImageSize;
        o.PatchSize = tiny.PatchSize;
        o.EmbedDim = tiny.EmbedDim;
        o.Depth = tiny.Depth;
        o.NumHeads = tiny.NumHeads;
    }

    private static ServiceProvider Build(Action<SpatialNetBuilder> configure, Action<IServiceCollection>? before = null, Action<IServiceCollection>? after = null)
    {
        var services = new ServiceCollection();
        before?.Invoke(services);
        services.AddSpatialNet(configure);
        after?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    private static void ThreeTasks(SpatialNetBuilder sn) => sn
        .UseVisionTransformer(Tiny)
        .AddClassificationTask("land_use", classes: 21, o => o.LabelSmoothing = 0.1)
        .AddRegressionTask("building_count", o => { o.TargetMean = 12; o.TargetStd = 5; o.LossWeight = 0.5; })
        .AddMultiLabelTask("objects", labels: 17, o => o.Pooling = PoolingKind.Attention);

    [Fact]
    public void ThePapersModelResolvesWithItsTasksAndDefaults()
    {
        using var sp = Build(ThreeTasks);

        var model = sp.GetRequiredService<MultiTaskModel>();

        model.Encoder.Should().BeOfType<VisionTransformer>();
        model.TaskNames.Should().Equal("land_use", "building_count", "objects");
        model.Head("land_use").Should().BeOfType<ClassificationHead>().Which.NumClasses.Should().Be(21);
        model.Head("building_count").Should().BeOfType<RegressionHead>().Which.TargetStd.Should().Be(5);
        model.Head("objects").Should().BeOfType<MultiLabelHead>().Which.Pooling.Should().Be(PoolingKind.Attention);
        sp.GetRequiredService<MultiTaskModel>().Should().BeSameAs(model);
        sp.GetRequiredService<ILossComposer>().Should().BeOfType<WeightedSum>().Which.WeightOf("building_count").Should().Be(0.5);
        sp.GetRequiredService<L2Regularization>().Lambda.Should().Be(0.01);
        sp.GetRequiredService<TaskCatalog>().Select(t => t.Kind).Should()
            .Equal(TaskKind.Classification, TaskKind.Regression, TaskKind.MultiLabel);
    }

    [Fact]
    public void TheCatalogDescribesEachTaskWithItsHeadOptions()
    {
        using var sp = Build(ThreeTasks);

        var tasks = sp.GetRequiredService<TaskCatalog>();
        var options = sp.GetRequiredService<IOptionsMonitor<RegressionHeadOptions>>().Get("building_count");

        // One description: the head options the container binds, their λ_t, the options type validated at start.
        tasks["building_count"].Head.Should().BeSameAs(options);
        tasks["building_count"].LossWeight.Should().Be(0.5);
        tasks["land_use"].Head.Should().BeOfType<ClassificationHeadOptions>().Which.NumClasses.Should().Be(21);
        tasks["objects"].HeadOptionsType.Should().Be(typeof(MultiLabelHeadOptions));
        sp.GetRequiredService<IOptions<SpatialNetOptions>>().Value.Tasks.Select(t => t.HeadOptionsType).Should()
            .Equal(typeof(ClassificationHeadOptions), typeof(RegressionHeadOptions), typeof(MultiLabelHeadOptions));
    }

    [Fact]
    public void TheArchitectureDocsExampleBuildsThePapersModel()
    {
        // The example of docs/architecture.md, verbatim apart from the assertions.
        var services = new ServiceCollection();
        services.AddSpatialNet(sn => sn
            .UseVisionTransformer(o => { o.Depth = 12; o.EmbedDim = 512; o.NumHeads = 8; o.PatchSize = 16; o.ImageSize = 256; })
            .AddClassificationTask("land_use", classes: 21)
            .AddRegressionTask("building_count")
            .UseLossComposer<WeightedSum>()
            .UseL2(0.01));
        using var provider = services.BuildServiceProvider();
        var model = provider.GetRequiredService<MultiTaskModel>();
        var composer = provider.GetRequiredService<ILossComposer>();

        var vit = model.Encoder.Should().BeOfType<VisionTransformer>().Subject;
        vit.Options.GridSize.Should().Be((16, 16)); // 256 patches, as the architecture notes say
        model.state_dict().Keys.Should().Contain("encoder.blocks.11.mlp.fc2.weight").And.NotContain("encoder.blocks.12.mlp.fc2.weight");
        model.Layout.Should().Be(new TokenLayout(512, 1));
        composer.Should().BeOfType<WeightedSum>();
    }

    [Fact]
    public void PerTaskSettingsAreNamedOptions()
    {
        using var sp = Build(ThreeTasks);

        var monitor = sp.GetRequiredService<IOptionsMonitor<ClassificationHeadOptions>>();

        monitor.Get("land_use").NumClasses.Should().Be(21);
        monitor.Get("land_use").LabelSmoothing.Should().Be(0.1);
        sp.GetRequiredService<IOptionsMonitor<RegressionHeadOptions>>().Get("building_count").TargetMean.Should().Be(12);
    }

    [Fact]
    public void TheFactoryBuildsIndependentModels()
    {
        using var sp = Build(ThreeTasks);
        var factory = sp.GetRequiredService<IMultiTaskModelFactory>();

        using var a = factory.Create();
        using var b = factory.Create();

        a.Should().NotBeSameAs(b);
        a.parameters().First().Should().NotBeSameAs(b.parameters().First());
    }

    [Theory]
    [InlineData(typeof(UncertaintyWeighting))]
    [InlineData(typeof(DynamicWeightAverage))]
    [InlineData(typeof(PCGrad))]
    [InlineData(typeof(WeightedSum))]
    public void EveryBuiltInComposerResolvesThroughUseLossComposer(Type composerType)
    {
        var use = typeof(SpatialNetBuilder).GetMethods()
            .Single(m => m.Name == nameof(SpatialNetBuilder.UseLossComposer) && m.IsGenericMethodDefinition)
            .MakeGenericMethod(composerType);
        using var sp = Build(sn => use.Invoke(ThreeTasksBuilder(sn), null));

        var composer = sp.GetRequiredService<ILossComposer>();

        composer.Should().BeOfType(composerType);
        if (composer is UncertaintyWeighting uw)
        {
            uw.Tasks.Names.Should().Equal("land_use", "building_count", "objects");
        }

        if (composer is DynamicWeightAverage dwa)
        {
            dwa.Temperature.Should().Be(2.0);
        }
    }

    private static SpatialNetBuilder ThreeTasksBuilder(SpatialNetBuilder sn)
    {
        ThreeTasks(sn);
        return sn;
    }

    [Fact]
    public void AHostsEncoderFactoryRegisteredFirstIsKept()
    {
        var custom = new FixedEncoderFactory();
        using var sp = Build(sn => sn.AddRegressionTask("n"), before: s => s.AddSingleton<IImageEncoderFactory>(custom));

        var model = sp.GetRequiredService<MultiTaskModel>();

        custom.Created.Should().Be(1);
        model.Encoder.EmbedDim.Should().Be(8);
    }

    [Fact]
    public void UseEncoderReplacesTheVisionTransformer()
    {
        using var sp = Build(sn => sn.UseVisionTransformer(Tiny).UseEncoder(_ => new FixedEncoderFactory().Create()).AddRegressionTask("n"));

        var model = sp.GetRequiredService<MultiTaskModel>();

        model.Encoder.EmbedDim.Should().Be(8);
        model.Layout.NumPrefixTokens.Should().Be(0);
        model.Head("n").Should().BeOfType<RegressionHead>().Which.Pooling.Should().Be(PoolingKind.Mean);
    }

    [Fact]
    public void AComposerReplacedAfterRegistrationIsUsed()
    {
        using var sp = Build(ThreeTasks, after: s => s.Replace(ServiceDescriptor.Singleton<ILossComposer>(new DynamicWeightAverage(temperature: 5))));

        sp.GetRequiredService<ILossComposer>().Should().BeOfType<DynamicWeightAverage>().Which.Temperature.Should().Be(5);
    }

    [Fact]
    public void AComposerRegisteredByTheHostFirstIsKept()
    {
        var mine = new WeightedSum(new Dictionary<string, double> { ["land_use"] = 7 });
        using var sp = Build(ThreeTasks, before: s => s.AddSingleton<ILossComposer>(mine));

        sp.GetRequiredService<ILossComposer>().Should().BeSameAs(mine);
    }

    [Fact]
    public void UseHeadReplacesOneTasksHead()
    {
        using var sp = Build(sn => ThreeTasksBuilder(sn)
            .UseHead("objects", (_, layout) => new MultiLabelHead("objects", layout, new MultiLabelHeadOptions { NumLabels = 2, Pooling = PoolingKind.Mean })));

        var model = sp.GetRequiredService<MultiTaskModel>();

        model.Head("objects").Should().BeOfType<MultiLabelHead>().Which.NumLabels.Should().Be(2);
        model.Head("land_use").Should().BeOfType<ClassificationHead>();
    }

    [Fact]
    public void AKeyedHeadFactoryRegisteredByTheHostFirstIsKept()
    {
        using var sp = Build(ThreeTasks, before: s => s.AddKeyedSingleton<ITaskHeadFactory>("building_count",
            new DelegateTaskHeadFactory(layout => new RegressionHead("building_count", layout, new RegressionHeadOptions { Outputs = 3 }))));

        sp.GetRequiredService<MultiTaskModel>().Head("building_count").Should().BeOfType<RegressionHead>().Which.Outputs.Should().Be(3);
    }

    [Fact]
    public void AddTaskPlugsInHeadsDefinedElsewhere()
    {
        using var sp = Build(sn => sn.UseVisionTransformer(Tiny)
            .AddTask<CaptionTestOptions>("caption", TaskKind.Captioning,
                (_, layout, o) => new Heads.SequenceTestHead("caption", layout, o.Vocabulary),
                o => { o.Vocabulary = 30; o.LossWeight = 2; }));

        var model = sp.GetRequiredService<MultiTaskModel>();

        model.Head("caption").Kind.Should().Be(TaskKind.Captioning);
        sp.GetRequiredService<TaskCatalog>()["caption"].LossWeight.Should().Be(2);
    }

    [Fact]
    public void L2SettingsFlowIntoTheRegularizer()
    {
        using var sp = Build(sn => ThreeTasksBuilder(sn).UseL2(0.2, (name, _) => name.EndsWith("weight", StringComparison.Ordinal)));

        var l2 = sp.GetRequiredService<L2Regularization>();
        var model = sp.GetRequiredService<MultiTaskModel>();

        l2.Lambda.Should().Be(0.2);
        l2.SelectParameters(model).Should().Contain(p => p.Name == "encoder.norm.weight");
    }

    internal sealed class CaptionTestOptions : TaskHeadOptions
    {
        public int Vocabulary { get; set; }
    }

    private sealed class FixedEncoderFactory : IImageEncoderFactory
    {
        public int Created { get; private set; }

        public TokenLayout? Layout => new(8, 0);

        public IImageEncoder Create()
        {
            Created++;
            return new VisionTransformer(new VisionTransformerOptions
            {
                ImageSize = 8, PatchSize = 4, EmbedDim = 8, Depth = 1, NumHeads = 2, ClassToken = false, GlobalPool = GlobalPool.Average,
            });
        }
    }
}
