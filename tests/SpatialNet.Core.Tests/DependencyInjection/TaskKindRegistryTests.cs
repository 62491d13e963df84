using System.Globalization;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Core.Tests.Models;
using SpatialNet.DependencyInjection;
using SpatialNet.Heads;
using SpatialNet.Models;
using Xunit;

namespace SpatialNet.Core.Tests.DependencyInjection;

public class TaskKindRegistryTests
{
    // A host's kind: a classification head under its own name, counting the heads it builds.
    private sealed class OrdinalKind(string name = "ordinal") : TaskKindRegistration<ClassificationHeadOptions>(name, TaskKind.Classification)
    {
        public List<string> Built { get; } = [];

        public override TaskHead CreateHead(IServiceProvider services, string taskName, TokenLayout layout, ClassificationHeadOptions options)
        {
            Built.Add(taskName);
            return new ClassificationHead(taskName, layout, options);
        }
    }

    private static IConfiguration Config(string kind, params (string Key, string Value)[] head)
    {
        var tiny = TinyModels.EncoderOptions();
        var values = new Dictionary<string, string?>
        {
            ["model:image_size"] = tiny.ImageSize.ToString(CultureInfo.InvariantCulture),
            ["model:patch_size"] = tiny.PatchSize.ToString(CultureInfo.InvariantCulture),
            ["model:embed_dim"] = tiny.EmbedDim.ToString(CultureInfo.InvariantCulture),
            ["model:depth"] = tiny.Depth.ToString(CultureInfo.InvariantCulture),
            ["model:num_heads"] = tiny.NumHeads.ToString(CultureInfo.InvariantCulture),
            ["tasks:0:name"] = "grade",
            ["tasks:0:kind"] = kind,
        };
        foreach (var (key, value) in head)
            values["tasks:0:head:" + key] = value;
        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    [Fact]
    public void AHostsKind_NamedByConfiguration_BuildsItsHeadWithItsBoundOptions()
    {
        var kind = new OrdinalKind();
        var services = new ServiceCollection().AddTaskKind(kind);
        services.AddSpatialNet(Config("ordinal", ("num_classes", "5"), ("label_smoothing", "0.2")));
        using var sp = services.BuildServiceProvider();

        var model = sp.GetRequiredService<MultiTaskModel>();

        kind.Built.Should().Equal("grade");
        var head = model.Head("grade").Should().BeOfType<ClassificationHead>().Subject;
        head.NumClasses.Should().Be(5);
        sp.GetRequiredService<TaskCatalog>()["grade"].Kind.Should().Be(TaskKind.Classification);
    }

    [Fact]
    public void AnUnknownKind_ListsTheRegisteredKinds_TheHostsToo()
    {
        var services = new ServiceCollection().AddTaskKind(new OrdinalKind());

        var act = () => services.AddSpatialNet(Config("detection"));

        act.Should().Throw<ConfigurationException>().WithMessage(
            "*tasks:0:kind = \"detection\": allowed ordinal, classification, regression, multi_label, vqa, caption, segmentation, pixel_regression (the registered task kinds).*");
    }

    [Theory]
    [InlineData("classification", typeof(ClassificationHeadOptions))]
    [InlineData("regression", typeof(RegressionHeadOptions))]
    [InlineData("multi_label", typeof(MultiLabelHeadOptions))]
    [InlineData("multilabel", typeof(MultiLabelHeadOptions))]
    [InlineData("vqa", typeof(VqaHeadOptions))]
    [InlineData("visual_question_answering", typeof(VqaHeadOptions))]
    [InlineData("caption", typeof(CaptionHeadOptions))]
    [InlineData("captioning", typeof(CaptionHeadOptions))]
    public void EachBuiltInName_BindsItsHeadOptionsType(string kind, Type options)
    {
        var services = new ServiceCollection();
        services.AddSpatialNet(Config(kind));

        TaskKindRegistry.Find(TaskKindRegistry.Of(services), kind)!.HeadOptionsType.Should().Be(options);
        services.Should().Contain(d => d.ServiceType == typeof(TaskDefinition) && Equals(d.ServiceKey, "grade"));
    }

    [Fact]
    public void ARegistrationUnderABuiltInName_ReplacesIt()
    {
        var mine = new OrdinalKind("classification");
        var services = new ServiceCollection();
        services.AddSpatialNet();
        services.AddTaskKind(mine);
        services.AddSpatialNet(Config("classification", ("num_classes", "3")));
        using var sp = services.BuildServiceProvider();

        sp.GetRequiredService<MultiTaskModel>();

        TaskKindRegistry.Of(services).Select(k => k.Name).Should().Equal("regression", "multi_label", "vqa", "caption", "segmentation", "pixel_regression", "classification");
        mine.Built.Should().Equal("grade");
    }
}
