using FluentAssertions;
using SpatialNet.Heads;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

public class TaskHeadContractTests
{
    private static readonly TokenLayout Layout = new(EmbedDim: 8, NumPrefixTokens: 1);

    [Fact]
    public void AHeadWithNamedInputsCanReturnSequences()
    {
        using var head = new SequenceTestHead("caption", Layout, vocabulary: 11);
        using var tokens = randn(2, 5, 8);
        using var question = randint(0, 11, [2, 7]);
        var inputs = new Dictionary<string, Tensor> { [SequenceTestHead.QuestionInput] = question };

        using var logits = head.call(tokens, inputs);
        using var ids = head.Predict(logits);
        using var loss = head.Loss(logits, question, inputs);

        logits.shape.Should().Equal(2, 7, 11);
        ids.shape.Should().Equal(2, 7);
        loss.dim().Should().Be(0);
        head.InputNames.Should().Equal(SequenceTestHead.QuestionInput);
    }

    [Fact]
    public void AMissingNamedInputIsReportedWithTheTaskAndWhatTheBatchHas()
    {
        using var head = new SequenceTestHead("vqa", Layout, vocabulary: 5);
        using var tokens = randn(1, 5, 8);
        using var other = zeros(1);

        var act = () => head.call(tokens, new Dictionary<string, Tensor> { ["caption"] = other });

        act.Should().Throw<KeyNotFoundException>()
            .WithMessage("Task 'vqa' (SequenceTestHead) needs input 'question'; the batch has: caption.");
    }

    [Fact]
    public void PooledNormAddsALayerNormAfterPooling()
    {
        using var plain = new ClassificationHead("a", Layout, new ClassificationHeadOptions { NumClasses = 2 });
        using var normed = new ClassificationHead("a", Layout, new ClassificationHeadOptions { NumClasses = 2, PooledNorm = true });

        plain.named_parameters().Select(p => p.name).Should().BeEquivalentTo("fc.weight", "fc.bias");
        normed.named_parameters().Select(p => p.name).Should().BeEquivalentTo("norm.weight", "norm.bias", "fc.weight", "fc.bias");
    }

    [Fact]
    public void OutputLayersAndPoolingQueriesStartFromTruncatedNormalSamples()
    {
        using var head = new ClassificationHead("a", new TokenLayout(64, 1), new ClassificationHeadOptions
        {
            NumClasses = 32, Pooling = PoolingKind.Attention, AttentionPoolHeads = 4,
        });
        var parameters = head.named_parameters().ToDictionary(p => p.name, p => p.parameter);

        foreach (var name in new[] { "fc.weight", "pool.kv.weight" })
        {
            // 2048+ samples of N(0, 0.02²): the sample std lies well within ±15 % of 0.02.
            var values = parameters[name].data<float>().ToArray();
            double mean = values.Average();
            double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length);
            std.Should().BeInRange(0.017, 0.023, name);
            values.Distinct().Count().Should().BeGreaterThan(values.Length / 2, name);
        }

        parameters["fc.bias"].data<float>().ToArray().Should().AllSatisfy(v => v.Should().Be(0));
        parameters["pool.latent"].data<float>().ToArray().Distinct().Count().Should().Be(64);
    }

    [Theory]
    [InlineData("land.use")]
    [InlineData("")]
    [InlineData("land use")]
    public void TaskNamesThatCannotBeStateDictKeysAreRejected(string name)
    {
        var act = () => new ClassificationHead(name, Layout, new ClassificationHeadOptions { NumClasses = 2 });

        act.Should().Throw<ArgumentException>()
            .WithMessage($"Task name '{name}' is not allowed; allowed: a non-empty name of letters, digits, '_' and '-'.*");
    }

    public static TheoryData<Action<ClassificationHeadOptions>, TokenLayout, string> CommonOptionErrors => new()
    {
        { o => o.Dropout = 1.0, Layout, "Task 'a': ClassificationHeadOptions.Dropout = 1 is not allowed; allowed: a number in [0, 1)." },
        { o => o.LossWeight = -0.5, Layout, "Task 'a': ClassificationHeadOptions.LossWeight = -0.5 is not allowed; allowed: a finite number >= 0 (λ_t of Eq. 6)." },
        { o => o.AttentionPoolHeads = 0, Layout, "Task 'a': ClassificationHeadOptions.AttentionPoolHeads = 0 is not allowed; allowed: an integer >= 1 that divides the encoder width D." },
        {
            o => { o.Pooling = PoolingKind.Attention; o.AttentionPoolHeads = 3; }, Layout,
            "Task 'a': ClassificationHeadOptions.AttentionPoolHeads = 3 is not allowed; allowed: a positive divisor of the encoder width D = 8."
        },
        {
            o => o.Pooling = PoolingKind.ClassToken, Layout with { NumPrefixTokens = 0 },
            "Task 'a': ClassificationHeadOptions.Pooling = ClassToken is not allowed; allowed: Mean, Attention or null (the encoder has no class token)."
        },
    };

    [Theory]
    [MemberData(nameof(CommonOptionErrors))]
    public void CommonOptionsAreValidatedWithTheirAllowedValues(Action<ClassificationHeadOptions> change, TokenLayout layout, string message)
    {
        var options = new ClassificationHeadOptions { NumClasses = 2 };
        change(options);

        var act = () => new ClassificationHead("a", layout, options);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain(message);
    }
}
