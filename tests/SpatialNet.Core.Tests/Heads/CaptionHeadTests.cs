using FluentAssertions;
using SpatialNet.Heads;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

public class CaptionHeadTests
{
    private static readonly TokenLayout Layout = new(EmbedDim: 16, NumPrefixTokens: 1);

    internal static CaptionHeadOptions Options(Action<CaptionHeadOptions>? change = null)
    {
        var options = new CaptionHeadOptions { VocabSize = 10, MaxLength = 8, Depth = 1, NumHeads = 2 };
        change?.Invoke(options);
        return options;
    }

    private static Dictionary<string, Tensor> Caption(long[] flat, int rows) =>
        new() { ["caption"] = tensor(flat, [rows, flat.Length / rows], dtype: int64) };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TeacherForcingGivesNextTokenLogitsPerPosition(bool tied)
    {
        using var head = new CaptionHead("caption", Layout, Options(o => o.TieEmbeddings = tied));
        using var tokens = randn(2, 5, 16);
        // bos=1 … eos=2, padded with 0: L = 6 → logits for 5 positions.
        var inputs = Caption([1, 5, 6, 7, 2, 0, 1, 8, 2, 0, 0, 0], 2);

        using var logits = head.call(tokens, inputs);
        using var ids = head.Predict(logits);

        logits.shape.Should().Equal(2, 5, 10);
        ids.shape.Should().Equal(2, 5);
        head.Kind.Should().Be(TaskKind.Captioning);
        head.InputNames.Should().Equal("caption");
        var names = head.state_dict().Keys.ToArray();
        names.Should().Contain(["embed.token_embed.weight", "embed.pos_embed", "blocks.0.attn.qkv.weight", "blocks.0.cross_attn.kv.weight", "norm.weight"]);
        // Every parameter is registered once, under the documented prefixes.
        names.Select(n => n.Split('.')[0]).Distinct().Should().BeEquivalentTo("embed", "blocks", "norm", tied ? "head_bias" : "head");
        if (tied)
        {
            names.Should().Contain("head_bias").And.NotContain("head.weight");
        }
        else
        {
            names.Should().Contain(["head.weight", "head.bias"]).And.NotContain("head_bias");
        }
    }

    [Fact]
    public void TiedOutputProjectionIsTheTokenEmbeddingMatrix()
    {
        using var tied = new CaptionHead("caption", Layout, Options(o => o.TieEmbeddings = true));
        using var untied = new CaptionHead("caption", Layout, Options(o => o.TieEmbeddings = false));

        // Untied adds head.weight [V, D] = 10 × 16 and head.bias [V]; tied adds head_bias [V] only.
        tied.parameters().Sum(p => p.numel()).Should().Be(untied.parameters().Sum(p => p.numel()) - 16 * 10);
        using var x = randn(1, 5, 16);
        var inputs = Caption([1, 2], 1);
        using var logits = tied.call(x, inputs);
        tied.eval();
        using var again = tied.call(x, inputs);
        logits.allclose(again, atol: 1e-6).Should().BeTrue();
    }

    [Fact]
    public void AFutureTokenDoesNotChangeEarlierLogits()
    {
        using var head = new CaptionHead("caption", Layout, Options());
        head.eval();
        using var tokens = randn(1, 5, 16);

        using var a = head.call(tokens, Caption([1, 5, 6, 7, 2], 1));
        using var b = head.call(tokens, Caption([1, 5, 6, 9, 2], 1));   // input position 3 changed

        a.narrow(1, 0, 3).allclose(b.narrow(1, 0, 3), atol: 1e-6).Should().BeTrue("positions 0..2 cannot see position 3");
        a.select(1, 3).allclose(b.select(1, 3), atol: 1e-4).Should().BeFalse("position 3 reads its own token");
    }

    [Fact]
    public void TrailingPaddingDoesNotChangeTheCaptionsLogits()
    {
        using var head = new CaptionHead("caption", Layout, Options());
        head.eval();
        using var tokens = randn(1, 5, 16);

        using var a = head.call(tokens, Caption([1, 5, 6, 2], 1));
        using var b = head.call(tokens, Caption([1, 5, 6, 2, 0, 0, 0], 1));

        a.allclose(b.narrow(1, 0, 3), atol: 1e-6).Should().BeTrue();
    }

    [Fact]
    public void LossIsLabelSmoothedCrossEntropyOverRealPositionsOnly()
    {
        using var head = new CaptionHead("caption", Layout, Options(o => { o.VocabSize = 3; o.LabelSmoothing = 0.3; }));
        // Positions: 0 predicts eos (id 2) from logits [0, 0, 2]; 1 is padding (ignored, arbitrary logits).
        using var logits = tensor(new float[] { 0, 0, 2, 5, -3, 1 }).reshape(1, 2, 3);
        using var targets = tensor(new long[] { 1, 2, 0 }).reshape(1, 3);   // bos, eos, pad: the head drops bos

        using var loss = head.Loss(logits, targets);
        using var shifted = head.Loss(logits, targets.narrow(1, 1, 2));

        // log Σ e^z = log(1 + 1 + e²) = 2.2395448; −ℓ = [2.2395448, 2.2395448, 0.2395448].
        // (1 − 0.3)·0.2395448 + (0.3/3)·(2.2395448 + 2.2395448 + 0.2395448) = 0.1676814 + 0.4718634 = 0.6395448
        loss.item<float>().Should().BeApproximately(0.6395448f, 1e-5f);
        shifted.item<float>().Should().BeApproximately(0.6395448f, 1e-5f);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GradientsReachEveryTrainableParameter(bool tied)
    {
        using var head = new CaptionHead("caption", Layout, Options(o => { o.TieEmbeddings = tied; o.MaxLength = 6; }));
        using var tokens = randn(2, 5, 16);
        var inputs = Caption([1, 5, 6, 7, 8, 2, 1, 9, 3, 4, 2, 0], 2);

        using var logits = head.call(tokens, inputs);
        using var loss = head.Loss(logits, inputs["caption"]);
        loss.backward();

        foreach (var (name, parameter) in head.named_parameters())
        {
            parameter.grad.Should().NotBeNull(name);
            parameter.grad!.abs().sum().item<float>().Should().BeGreaterThan(0f, name);
        }
    }

    [Fact]
    public void GenerateDecodesEveryImageAndBatchingChangesNothing()
    {
        using var head = new CaptionHead("caption", Layout, Options(o => o.Decoding = new SequenceDecodingOptions { BeamWidth = 3 }));
        using var tokens = randn(3, 5, 16);

        var batched = head.Generate(tokens);
        var again = head.Generate(tokens);

        batched.Count.Should().Be(3);
        for (int i = 0; i < 3; i++)
        {
            batched.Tokens[i].Count.Should().BeLessThanOrEqualTo(7);      // MaxLength − 1 tokens with the end token
            batched.Tokens[i].Should().NotContain([0L, 1L, 2L]);           // no pad, bos, or eos inside
            again.Tokens[i].Should().Equal(batched.Tokens[i]);
            using var one = tokens.narrow(0, i, 1);
            var single = head.Generate(one);
            single.Tokens[0].Should().Equal(batched.Tokens[i]);
            single.LogProbabilities[0].Should().BeApproximately(batched.LogProbabilities[i], 1e-4);
        }

        head.training.Should().BeTrue("Generate restores the training mode");
        using var ids = batched.ToTensor(0);
        ids.shape[0].Should().Be(3);
    }

    [Fact]
    public void GeneratedLogProbabilityIsTheTeacherForcedLogProbabilityOfTheResult()
    {
        // An independent check of the decoder's bookkeeping: re-score the greedy caption by teacher forcing.
        using var head = new CaptionHead("caption", Layout, Options());
        head.eval();
        using var tokens = randn(1, 5, 16);

        var result = head.Generate(tokens, new SequenceDecodingOptions { BeamWidth = 1, MaxLength = 7 });
        var sequence = new List<long> { 1 };
        sequence.AddRange(result.Tokens[0]);
        if (result.Ended[0]) sequence.Add(2);

        using var logits = head.call(tokens, Caption(sequence.ToArray(), 1));
        using var logProbs = logits.log_softmax(-1);
        double expected = 0;
        for (int i = 1; i < sequence.Count; i++)
        {
            expected += logProbs[0, i - 1, sequence[i]].item<float>();
        }

        result.LogProbabilities[0].Should().BeApproximately(expected, 1e-4);
    }

    [Theory]
    [InlineData("MaxLength", "Task 'c': CaptionHeadOptions.MaxLength = 1 is not allowed; allowed: an integer >= 2 (a caption holds at least the start and end tokens).")]
    [InlineData("Depth", "Task 'c': CaptionHeadOptions.Depth = 0 is not allowed; allowed: an integer >= 1.")]
    [InlineData("Ids", "Task 'c': CaptionHeadOptions.PadId/BosId/EosId = 0/2/2 is not allowed; allowed: three different token ids.")]
    [InlineData("EosId", "Task 'c': CaptionHeadOptions.EosId = 10 is not allowed; allowed: a token id in [0, VocabSize = 10).")]
    [InlineData("BeamWidth", "Task 'c': CaptionHeadOptions.Decoding.BeamWidth = 0 is not allowed; allowed: an integer >= 1 (1 decodes greedily).")]
    [InlineData("DecodeLength", "Task 'c': CaptionHeadOptions.Decoding.MaxLength = 8 is not allowed; allowed: null or an integer from 1 to 7 (the position table's length minus the start token).")]
    [InlineData("Alpha", "Task 'c': CaptionHeadOptions.Decoding.LengthPenaltyAlpha = -0.5 is not allowed; allowed: a finite number >= 0.")]
    [InlineData("NoRepeat", "Task 'c': CaptionHeadOptions.Decoding.NoRepeatNgramSize = -1 is not allowed; allowed: 0 (off) or an integer >= 1.")]
    [InlineData("Input", "Task 'c': CaptionHeadOptions.CaptionInput = ' ' is not allowed; allowed: a non-empty batch entry name.")]
    public void InvalidOptionsAreReportedByName(string option, string message)
    {
        var options = Options(o =>
        {
            switch (option)
            {
                case "MaxLength": o.MaxLength = 1; o.Decoding.MaxLength = 1; break;
                case "Depth": o.Depth = 0; break;
                case "Ids": o.BosId = 2; break;
                case "EosId": o.EosId = 10; break;
                case "BeamWidth": o.Decoding.BeamWidth = 0; break;
                case "DecodeLength": o.Decoding.MaxLength = 8; break;
                case "Alpha": o.Decoding.LengthPenaltyAlpha = -0.5; break;
                case "NoRepeat": o.Decoding.NoRepeatNgramSize = -1; break;
                case "Input": o.CaptionInput = " "; break;
            }
        });

        options.Validate("c", Layout).Should().Equal(message);
        FluentActions.Invoking(() => new CaptionHead("c", Layout, options)).Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void CaptionsOfTheWrongShapeAreNamed()
    {
        using var head = new CaptionHead("caption", Layout, Options());
        using var tokens = randn(1, 5, 16);

        FluentActions.Invoking(() => head.call(tokens, Caption([1, 3, 4, 5, 6, 7, 8, 9, 2], 1))).Should().Throw<ArgumentException>()
            .WithMessage("Task 'caption': input 'caption' must be caption ids [B, L] int64 with B = 1 and 2 <= L <= 8; got [1, 9]*");
    }
}
