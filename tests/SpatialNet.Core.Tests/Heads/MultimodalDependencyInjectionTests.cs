using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SpatialNet.Heads;
using SpatialNet.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

public class MultimodalDependencyInjectionTests
{
    private static ServiceProvider Build(Action<SpatialNet.DependencyInjection.SpatialNetBuilder> tasks)
    {
        var services = new ServiceCollection();
        services.AddSpatialNet(sn =>
        {
            sn.UseVisionTransformer(o => { o.ImageSize = 16; o.PatchSize = 8; o.EmbedDim = 16; o.Depth = 1; o.NumHeads = 2; });
            tasks(sn);
        });
        return services.BuildServiceProvider();
    }

    [Fact]
    public void OneModelCarriesClassificationVqaAndCaptionHeads()
    {
        using var provider = Build(sn => sn
            .AddClassificationTask("land_use", classes: 3)
            .AddVqaTask("rsvqa", answers: 5, vocabSize: 20, o => { o.Depth = 1; o.NumHeads = 2; o.LossWeight = 0.5; })
            .AddCaptionTask("caption", vocabSize: 30, maxLength: 6, o => { o.Depth = 1; o.NumHeads = 2; }));
        provider.ValidateSpatialNet();

        var catalog = provider.GetRequiredService<TaskCatalog>();
        catalog.Select(t => (t.Name, t.Kind, t.LossWeight)).Should().Equal(
            ("land_use", TaskKind.Classification, 1.0),
            ("rsvqa", TaskKind.VisualQuestionAnswering, 0.5),
            ("caption", TaskKind.Captioning, 1.0));
        var model = provider.GetRequiredService<MultiTaskModel>();
        model.Head("rsvqa").Should().BeOfType<VqaHead>();
        model.Head("caption").Should().BeOfType<CaptionHead>();

        using var images = randn(2, 3, 16, 16);
        var inputs = new Dictionary<string, Tensor>
        {
            ["question"] = tensor(new long[] { 3, 4, 0, 5, 6, 7 }, [2, 3], dtype: int64),
            ["caption"] = tensor(new long[] { 1, 8, 9, 2, 1, 10, 2, 0 }, [2, 4], dtype: int64),
        };
        // A batch of the VQA dataset carries only its own task.
        var vqaOnly = model.Forward(images, inputs, ["rsvqa"]);
        vqaOnly.Keys.Should().Equal("rsvqa");
        vqaOnly["rsvqa"].shape.Should().Equal(2, 5);

        var all = model.Forward(images, inputs);
        all["caption"].shape.Should().Equal(2, 3, 30);
        var losses = model.Losses(all, new Dictionary<string, Tensor>
        {
            ["rsvqa"] = tensor(new long[] { 1, 4 }),
            ["caption"] = inputs["caption"],
        }, inputs);
        losses.Keys.Should().BeEquivalentTo("rsvqa", "caption");
        losses.Values.Should().OnlyContain(l => float.IsFinite(l.item<float>()));

        var caption = (CaptionHead)model.Head("caption");
        using var tokens = model.Encoder.ForwardTokens(images);
        caption.Generate(tokens).Count.Should().Be(2);
    }

    [Fact]
    public void InvalidMultimodalOptionsFailAtStartNamingEachOption()
    {
        using var provider = Build(sn => sn
            .AddVqaTask("rsvqa", answers: 1, vocabSize: 20, o => o.NumHeads = 3)
            .AddCaptionTask("caption", vocabSize: 30, maxLength: 6, o => { o.BosId = 0; o.Decoding.BeamWidth = 0; }));

        // Both tasks fail; the start-up validator reports them together (an AggregateException of both).
        Exception? error = null;
        try
        {
            provider.ValidateSpatialNet();
        }
        catch (Exception e)
        {
            error = e;
        }

        error.Should().NotBeNull();
        var failures = (error is AggregateException aggregate ? aggregate.InnerExceptions.ToArray() : [error!])
            .Cast<OptionsValidationException>()
            .SelectMany(e => e.Failures).ToArray();

        failures.Should().BeEquivalentTo(
            "Task 'rsvqa': VqaHeadOptions.NumAnswers = 1 is not allowed; allowed: an integer >= 2 (the size of the answer vocabulary).",
            "Task 'rsvqa': VqaHeadOptions.NumHeads = 3 is not allowed; allowed: a positive divisor of the text width, which is the encoder width D = 16 while EmbedDim is null.",
            "Task 'caption': CaptionHeadOptions.PadId/BosId/EosId = 0/0/2 is not allowed; allowed: three different token ids.",
            "Task 'caption': CaptionHeadOptions.Decoding.BeamWidth = 0 is not allowed; allowed: an integer >= 1 (1 decodes greedily).");
    }

    [Fact]
    public void AQuestionEncoderFactoryReplacesTheDefault()
    {
        using var provider = Build(sn => sn.AddVqaTask("rsvqa", answers: 3, vocabSize: 10, o => { o.EmbedDim = 8; o.NumHeads = 2; },
            questionEncoder: (_, _, o) => new TransformerQuestionEncoder(o.VocabSize, o.MaxLength, dim: 8, depth: 0, numHeads: 2)));

        var head = (VqaHead)provider.GetRequiredService<MultiTaskModel>().Head("rsvqa");

        head.QuestionEncoder.EmbedDim.Should().Be(8);
        head.state_dict().Keys.Should().NotContain(k => k.StartsWith("question_encoder.blocks.", StringComparison.Ordinal));
    }
}
