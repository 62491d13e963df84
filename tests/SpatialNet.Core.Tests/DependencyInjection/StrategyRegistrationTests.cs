using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SpatialNet.Core.Tests.Models;
using SpatialNet.DependencyInjection;
using SpatialNet.Losses;
using Xunit;

namespace SpatialNet.Core.Tests.DependencyInjection;

/// <summary>Every multi-task strategy is chosen by <c>loss:loss_composer</c> and binds its options from <c>loss:&lt;name&gt;</c>.</summary>
public class StrategyRegistrationTests
{
    private static ServiceProvider Provider(params (string Key, string Value)[] loss)
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
        };
        foreach (var (key, value) in loss)
            values["loss:" + key] = value;
        return new ServiceCollection().AddSpatialNet(new ConfigurationBuilder().AddInMemoryCollection(values).Build()).BuildServiceProvider();
    }

    [Theory]
    [InlineData("imtl_l", typeof(ImtlL))]
    [InlineData("rlw", typeof(RandomLossWeighting))]
    [InlineData("gls", typeof(GeometricLossStrategy))]
    [InlineData("famo", typeof(Famo))]
    [InlineData("stch", typeof(SmoothTchebycheff))]
    [InlineData("upgrad", typeof(UPGradAggregator))]
    [InlineData("dualproj", typeof(DualProjAggregator))]
    [InlineData("mgda", typeof(MgdaAggregator))]
    [InlineData("cagrad", typeof(CaGradAggregator))]
    [InlineData("imtl_g", typeof(ImtlGAggregator))]
    [InlineData("aligned_mtl", typeof(AlignedMtlAggregator))]
    [InlineData("con_fig", typeof(ConFigAggregator))]
    [InlineData("gradvac", typeof(GradVacAggregator))]
    [InlineData("fairgrad", typeof(FairGradAggregator))]
    [InlineData("nash_mtl", typeof(NashMtlAggregator))]
    [InlineData("excess_mtl", typeof(ExcessMtlAggregator))]
    [InlineData("graddrop", typeof(GradDropAggregator))]
    [InlineData("moco", typeof(MocoAggregator))]
    [InlineData("db_mtl", typeof(DbMtlAggregator))]
    public void EachStrategy_IsChosenByItsName(string name, Type expected)
    {
        using var sp = Provider(("loss_composer", name));

        var composer = sp.GetRequiredService<ILossComposer>();

        composer.Name.Should().Be(name);
        (composer is GradientComposer g ? (object)g.Aggregator : composer).Should().BeOfType(expected);
    }

    [Fact]
    public void OptionsBindFromTheirSection_InSnakeCase()
    {
        using var sp = Provider(("loss_composer", "cagrad"), ("cagrad:c", "0.4"), ("cagrad:norm_eps", "0.001"), ("cagrad:rescale", "1"),
            ("mgda:gradient_normalization", "loss+"), ("mgda:max_iters", "7"), ("aligned_mtl:scale_mode", "rmse"),
            ("nash_mtl:update_weights_every", "3"), ("mgda:rep_grad", "true"), ("famo:weight_decay", "0.01"), ("stch:warmup_epochs", "2"), ("uncertainty:initial_log_variance", "-0.5"));

        var cagrad = (CaGradAggregator)((GradientComposer)sp.GetRequiredService<ILossComposer>()).Aggregator;
        (cagrad.C, cagrad.NormEps, cagrad.Rescale).Should().Be((0.4, 0.001, 1));
        var mgda = (MgdaAggregator)((GradientComposer)sp.GetRequiredKeyedService<ILossComposer>("mgda")).Aggregator;
        (mgda.GradientNormalization, mgda.MaxIters).Should().Be(("loss+", 7));
        ((GradientComposer)sp.GetRequiredKeyedService<ILossComposer>("mgda")).RepresentationMode.Should().BeTrue();
        ((AlignedMtlAggregator)((GradientComposer)sp.GetRequiredKeyedService<ILossComposer>("aligned_mtl")).Aggregator).ScaleMode.Should().Be("rmse");
        ((NashMtlAggregator)((GradientComposer)sp.GetRequiredKeyedService<ILossComposer>("nash_mtl")).Aggregator).UpdateWeightsEvery.Should().Be(3);
        ((Famo)sp.GetRequiredKeyedService<ILossComposer>("famo")).WeightDecay.Should().Be(0.01);
        ((SmoothTchebycheff)sp.GetRequiredKeyedService<ILossComposer>("stch")).WarmupEpochs.Should().Be(2);
        ((GradientComposer)sp.GetRequiredKeyedService<ILossComposer>("upgrad")).RepresentationMode.Should().BeFalse();
        var uw = (UncertaintyWeighting)sp.GetRequiredKeyedService<ILossComposer>("uncertainty");
        uw.LogVariances.data<float>().ToArray().Should().Equal(-0.5f, -0.5f);
    }

    [Theory]
    [InlineData("cagrad:rescale", "3", "loss:cagrad:rescale = 3: allowed 0, 1 or 2.")]
    [InlineData("mgda:gradient_normalization", "l1", "loss:mgda:gradient_normalization = l1: allowed none, l2, loss or loss+.")]
    [InlineData("upgrad:reg_eps", "-1", "loss:upgrad:reg_eps = -1: allowed a finite number >= 0.")]
    [InlineData("gradvac:beta", "2", "loss:gradvac:beta = 2: allowed a number in [0, 1].")]
    [InlineData("stch:mu", "0", "loss:stch:mu = 0: allowed a finite number > 0.")]
    [InlineData("moco:rep_grad", "true", "loss:moco:rep_grad = True: allowed false (MoCo tracks the parameters' gradients across steps).")]
    public void BadOptions_NameTheirKey(string key, string value, string message)
    {
        var name = key[..key.IndexOf(':', StringComparison.Ordinal)];
        var act = () =>
        {
            using var sp = Provider(("loss_composer", name), (key, value));
            return sp.GetRequiredService<ILossComposer>();
        };

        act.Should().Throw<Exception>().WithMessage("*" + message + "*");
    }
}
