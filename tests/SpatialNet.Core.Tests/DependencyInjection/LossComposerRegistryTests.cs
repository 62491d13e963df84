using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SpatialNet.Core.Tests.Models;
using SpatialNet.DependencyInjection;
using SpatialNet.Losses;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.DependencyInjection;

public class LossComposerRegistryTests
{
    // A host's own composer: the task losses summed, times a configured factor.
    private sealed class ScaledSum(ScaledSumOptions options) : ILossComposer
    {
        public double Factor { get; } = options.Factor;

        public string Name => "scaled_sum";

        public ComposedLoss Compose(IReadOnlyDictionary<string, Tensor> taskLosses, LossContext context)
        {
            var total = taskLosses.Values.Aggregate((a, b) => a + b) * Factor;
            return new ComposedLoss(total, taskLosses, taskLosses.ToDictionary(kv => kv.Key, _ => Factor));
        }
    }

    private sealed class ScaledSumOptions : LossComposerOptions
    {
        public double Factor { get; set; } = 1;

        protected override void CollectErrors(ICollection<string> errors)
        {
            if (!(Factor > 0))
                errors.Add(Message(nameof(Factor), Factor, "a number > 0"));
        }
    }

    private static void Tiny(SpatialNet.Modules.VisionTransformerOptions o)
    {
        var tiny = TinyModels.EncoderOptions();
        (o.ImageSize, o.PatchSize, o.EmbedDim, o.Depth, o.NumHeads) = (tiny.ImageSize, tiny.PatchSize, tiny.EmbedDim, tiny.Depth, tiny.NumHeads);
    }

    private static IConfiguration Config(params (string Key, string Value)[] loss)
    {
        var tiny = TinyModels.EncoderOptions();
        var values = new Dictionary<string, string?>
        {
            ["model:image_size"] = tiny.ImageSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["model:patch_size"] = tiny.PatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["model:embed_dim"] = tiny.EmbedDim.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["model:depth"] = tiny.Depth.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["model:num_heads"] = tiny.NumHeads.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["tasks:0:name"] = "land_use",
            ["tasks:0:kind"] = "classification",
            ["tasks:0:head:num_classes"] = "3",
            ["tasks:1:name"] = "count",
            ["tasks:1:kind"] = "regression",
            ["tasks:1:head:loss_weight"] = "0.5",
        };
        foreach (var (key, value) in loss)
            values["loss:" + key] = value;
        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    private static ServiceProvider FromConfiguration(IConfiguration configuration, Action<SpatialNetBuilder>? configure = null) =>
        new ServiceCollection().AddSpatialNet(configuration, configure).BuildServiceProvider();

    [Theory]
    [InlineData("weighted_sum", typeof(WeightedSum))]
    [InlineData("uncertainty", typeof(UncertaintyWeighting))]
    [InlineData("dwa", typeof(DynamicWeightAverage))]
    [InlineData("pcgrad", typeof(PCGrad))]
    [InlineData("gradnorm", typeof(GradNorm))]
    [InlineData("pc_grad", typeof(PCGrad))]
    public void EachBuiltInName_ChoosesItsComposer(string name, Type expected)
    {
        using var sp = FromConfiguration(Config(("loss_composer", name)));

        sp.GetRequiredService<ILossComposer>().Should().BeOfType(expected);
    }

    [Fact]
    public void NoComposerNamed_IsThePapersWeightedSum_WithTheTasksWeights()
    {
        using var sp = FromConfiguration(Config());

        var sum = sp.GetRequiredService<ILossComposer>().Should().BeOfType<WeightedSum>().Subject;
        sum.WeightOf("count").Should().Be(0.5);
        sum.WeightOf("land_use").Should().Be(1);
    }

    [Fact]
    public void EachComposer_BindsItsOwnSection()
    {
        var configuration = Config(("loss_composer", "dwa"), ("dwa:temperature", "3.5"), ("pcgrad:seed", "7"), ("gradnorm:alpha", "0.25"));
        using var sp = FromConfiguration(configuration);

        sp.GetRequiredService<ILossComposer>().Should().BeOfType<DynamicWeightAverage>().Which.Temperature.Should().Be(3.5);
        sp.GetRequiredKeyedService<ILossComposer>("pcgrad").Should().BeOfType<PCGrad>().Which.Seed.Should().Be(7);
        sp.GetRequiredService<IOptionsMonitor<GradNormOptions>>().Get("gradnorm").Alpha.Should().Be(0.25);
    }

    [Fact]
    public void AnUnknownName_ListsTheRegisteredComposers_TheHostsToo()
    {
        var act = () => FromConfiguration(Config(("loss_composer", "magic")),
            sn => sn.AddLossComposer<ScaledSum, ScaledSumOptions>("scaled_sum", (_, o) => new ScaledSum(o)));

        act.Should().Throw<ConfigurationException>().WithMessage(
            "*loss:loss_composer = \"magic\": allowed weighted_sum, uncertainty, dwa, pcgrad, gradnorm, imtl_l, rlw, gls, famo, stch, upgrad, dualproj, mgda, cagrad, imtl_g, aligned_mtl, con_fig, gradvac, fairgrad, nash_mtl, excess_mtl, graddrop, moco, db_mtl, scaled_sum (the registered loss composers).*");
    }

    [Theory]
    [InlineData("dwa_temperature", "3", "loss:dwa_temperature: moved; write loss:dwa:temperature")]
    [InlineData("pc_grad_seed", "3", "loss:pc_grad_seed: moved; write loss:pcgrad:seed")]
    [InlineData("grad_norm_alpha", "3", "loss:grad_norm_alpha: moved; write loss:gradnorm:alpha")]
    [InlineData("dwa:temperature", "0", "loss:dwa:temperature = 0: allowed a finite number > 0 (the paper uses 2).")]
    [InlineData("gradnorm:alpha", "-1", "loss:gradnorm:alpha = -1: allowed a finite number >= 0 (paper: 1.5).")]
    [InlineData("dwa:temprature", "3", "loss:dwa:temprature: unknown key; allowed: temperature.")]
    public void OldKeysAndBadValues_NameTheKey(string key, string value, string message)
    {
        var act = () => FromConfiguration(Config((key, value)));

        act.Should().Throw<ConfigurationException>().WithMessage("*" + message + "*");
    }

    [Fact]
    public void AHostsComposer_IsChosenByConfiguration_WithItsOwnOptions()
    {
        var services = new ServiceCollection();
        services.AddLossComposer<ScaledSum, ScaledSumOptions>("scaled_sum", (_, o) => new ScaledSum(o));
        services.AddSpatialNet(Config(("loss_composer", "scaled_sum"), ("scaled_sum:factor", "0.25")));
        using var sp = services.BuildServiceProvider();

        var composer = sp.GetRequiredService<ILossComposer>().Should().BeOfType<ScaledSum>().Subject;
        composer.Factor.Should().Be(0.25);
        using var a = tensor(2.0f);
        using var b = tensor(6.0f);
        var composed = composer.Compose(new Dictionary<string, Tensor> { ["land_use"] = a, ["count"] = b }, LossContext.None);
        composed.Total.item<float>().Should().Be(2.0f, "0.25 · (2 + 6)");
    }

    [Fact]
    public void AHostsComposerOptions_AreValidatedByItsOwnRules()
    {
        var act = () => FromConfiguration(Config(("loss_composer", "scaled_sum"), ("scaled_sum:factor", "-2")),
            sn => sn.AddLossComposer<ScaledSum, ScaledSumOptions>("scaled_sum", (_, o) => new ScaledSum(o)));

        act.Should().Throw<ConfigurationException>().WithMessage("*loss:scaled_sum:factor = -2: allowed a number > 0.*");
    }

    [Fact]
    public void FromCode_AnUnregisteredName_FailsValidation_ListingTheNames()
    {
        using var sp = new ServiceCollection()
            .AddSpatialNet(sn => sn.UseVisionTransformer(Tiny).AddClassificationTask("land_use", 3).Configure(o => o.LossComposer = "magic"))
            .BuildServiceProvider();

        var act = () => sp.GetRequiredService<ILossComposer>();

        act.Should().Throw<OptionsValidationException>().WithMessage(
            "*SpatialNetOptions.LossComposer = \"magic\"; allowed: weighted_sum, uncertainty, dwa, pcgrad, gradnorm, imtl_l, rlw, gls, famo, stch, upgrad, dualproj, mgda, cagrad, imtl_g, aligned_mtl, con_fig, gradvac, fairgrad, nash_mtl, excess_mtl, graddrop, moco, db_mtl (the registered loss composers).*");
    }

    [Fact]
    public void ARegistrationUnderABuiltInName_ReplacesIt()
    {
        using var sp = new ServiceCollection()
            .AddSpatialNet(sn => sn.UseVisionTransformer(Tiny).AddClassificationTask("land_use", 3)
                .AddLossComposer<ScaledSum, ScaledSumOptions>("dwa", (_, o) => new ScaledSum(o), o => o.Factor = 3)
                .Configure(o => o.LossComposer = "dwa"))
            .BuildServiceProvider();

        sp.GetRequiredService<ILossComposer>().Should().BeOfType<ScaledSum>().Which.Factor.Should().Be(3);
    }

    [Fact]
    public void InvalidBuilderOptions_FailAtStart_NamingTheKey()
    {
        using var sp = new ServiceCollection()
            .AddSpatialNet(sn => sn.UseVisionTransformer(Tiny).AddClassificationTask("land_use", 3)
                .Configure(o => o.LossComposer = "dwa"))
            .Configure<DynamicWeightAverageOptions>("dwa", o => o.Temperature = -1)
            .BuildServiceProvider();

        var act = () => sp.GetRequiredService<ILossComposer>();

        act.Should().Throw<OptionsValidationException>().WithMessage("*loss:dwa:temperature = -1: allowed a finite number > 0*");
    }
}
