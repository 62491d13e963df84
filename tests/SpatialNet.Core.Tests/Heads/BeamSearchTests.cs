using FluentAssertions;
using SpatialNet.Heads;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

public class BeamSearchTests
{
    // Vocabulary of the hand-made models: 0 pad, 1 bos, 2 eos, 3 a, 4 b, 5 c.
    private const long Eos = 2, A = 3, B = 4, C = 5;
    private static readonly SpecialTokens Special = new(Pad: 0, Bos: 1, Eos: Eos);

    /// <summary>
    /// A tiny model with hand-set weights: the next-token distribution depends only on the last
    /// token (a bigram table stored as an embedding whose rows are log-probabilities).
    /// </summary>
    private sealed class BigramModel : IDisposable
    {
        private readonly Embedding table = nn.Embedding(6, 6);

        public BigramModel(Dictionary<long, Dictionary<long, double>> next)
        {
            using var noGrad = no_grad();
            var weights = new float[36];
            Array.Fill(weights, -1e4f);   // tokens not listed: probability e^-10000 ≈ 0
            foreach (var (from, row) in next)
            {
                foreach (var (to, p) in row)
                {
                    weights[from * 6 + to] = (float)Math.Log(p);
                }
            }

            table.weight!.copy_(tensor(weights).reshape(6, 6));
        }

        public int Calls { get; private set; }

        public Tensor Step(Tensor prefix)
        {
            Calls++;
            return table.call(prefix.select(1, prefix.shape[1] - 1));
        }

        public void Dispose() => table.Dispose();
    }

    // Greedy takes a (0.5) then eos (0.4): P = 0.20. The best sequence is b (0.4) then eos (0.9): P = 0.36.
    private static BigramModel GreedyTrap() => new(new()
    {
        [1] = new() { [A] = 0.5, [B] = 0.4, [Eos] = 0.1 },
        [A] = new() { [Eos] = 0.4, [A] = 0.3, [B] = 0.3 },
        [B] = new() { [Eos] = 0.9, [C] = 0.1 },
        [C] = new() { [Eos] = 1.0 },
    });

    private static SequenceDecodingOptions Decoding(int beams, int maxLength = 5) => new() { BeamWidth = beams, MaxLength = maxLength };

    [Fact]
    public void BeamSearchFindsTheBestSequenceWhereGreedyDoesNot()
    {
        using var model = GreedyTrap();

        var greedy = SequenceDecoder.Greedy(1, model.Step, Special, Decoding(1));
        var beam = SequenceDecoder.BeamSearch(1, model.Step, Special, Decoding(2));

        greedy.Tokens[0].Should().Equal(A);
        greedy.Ended[0].Should().BeTrue();
        greedy.LogProbabilities[0].Should().BeApproximately(Math.Log(0.5 * 0.4), 1e-6);
        beam.Tokens[0].Should().Equal(B);
        beam.Ended[0].Should().BeTrue();
        beam.LogProbabilities[0].Should().BeApproximately(Math.Log(0.4 * 0.9), 1e-6);
    }

    [Fact]
    public void BeamSearchStopsOnceNoLiveBeamCanWin()
    {
        // After step 2 the finished hypotheses (b eos: 0.36, a eos: 0.20) beat every live beam (≤ 0.15):
        // two model calls, not five.
        using var model = GreedyTrap();

        SequenceDecoder.BeamSearch(1, model.Step, Special, Decoding(2));

        model.Calls.Should().Be(2);
    }

    [Fact]
    public void OneBeamIsGreedyDecoding()
    {
        using var model = GreedyTrap();
        var greedy = SequenceDecoder.Greedy(1, model.Step, Special, Decoding(1));
        var beam = SequenceDecoder.BeamSearch(1, model.Step, Special, Decoding(1));
        beam.Tokens[0].Should().Equal(greedy.Tokens[0]);
        beam.LogProbabilities[0].Should().BeApproximately(greedy.LogProbabilities[0], 1e-9);
    }

    [Fact]
    public void OneBeamIsGreedyDecodingOnARandomCaptionDecoder()
    {
        using var head = new CaptionHead("caption", new TokenLayout(16, 1), CaptionHeadOptions());
        head.eval();
        using var memory = randn(4, 5, 16);
        Tensor Step(Tensor prefix)
        {
            using var scope = NewDisposeScope();
            var inputs = new Dictionary<string, Tensor> { ["caption"] = cat([prefix, zeros(prefix.shape[0], 1, dtype: int64)], 1) };
            var logits = head.call(memory, inputs);
            return logits.select(1, logits.shape[1] - 1).MoveToOuterDisposeScope();
        }

        var options = new SequenceDecodingOptions { BeamWidth = 1, MaxLength = 6, NoRepeatNgramSize = 2 };
        var greedy = SequenceDecoder.Greedy(4, Step, Special, options);
        var beam = SequenceDecoder.BeamSearch(4, Step, Special, options);

        for (int i = 0; i < 4; i++)
        {
            beam.Tokens[i].Should().Equal(greedy.Tokens[i]);
            beam.Ended[i].Should().Be(greedy.Ended[i]);
            beam.LogProbabilities[i].Should().BeApproximately(greedy.LogProbabilities[i], 1e-6);
        }
    }

    [Fact]
    public void NoRepeatNgramBlocksARepeat()
    {
        // a → b (0.6) | c (0.3) | eos (0.1);  b → a (0.6) | eos (0.4);  c → eos (0.9) | a (0.1).
        // Without blocking: a b a b a b (6 tokens, the limit). With bigrams blocked: a b a, then "a b"
        // again is forbidden, so c (0.3), then eos (0.9).
        using var model = new BigramModel(new()
        {
            [1] = new() { [A] = 0.6, [B] = 0.2, [Eos] = 0.2 },
            [A] = new() { [B] = 0.6, [C] = 0.3, [Eos] = 0.1 },
            [B] = new() { [A] = 0.6, [Eos] = 0.4 },
            [C] = new() { [Eos] = 0.9, [A] = 0.1 },
        });

        var free = SequenceDecoder.Greedy(1, model.Step, Special, Decoding(1, maxLength: 6));
        var blocked = SequenceDecoder.Greedy(1, model.Step, Special, new SequenceDecodingOptions { BeamWidth = 1, MaxLength = 6, NoRepeatNgramSize = 2 });
        var blockedBeam = SequenceDecoder.BeamSearch(1, model.Step, Special, new SequenceDecodingOptions { BeamWidth = 1, MaxLength = 6, NoRepeatNgramSize = 2 });

        free.Tokens[0].Should().Equal(A, B, A, B, A, B);
        free.Ended[0].Should().BeFalse();
        blocked.Tokens[0].Should().Equal(A, B, A, C);
        blocked.Ended[0].Should().BeTrue();
        blocked.LogProbabilities[0].Should().BeApproximately(Math.Log(0.6 * 0.6 * 0.6 * 0.3 * 0.9), 1e-6);
        blockedBeam.Tokens[0].Should().Equal(A, B, A, C);
    }

    [Theory]
    [InlineData(new long[] { 7, 8, 7 }, 2, new long[] { 8 })]          // "7 8" seen: 8 after 7 is forbidden
    [InlineData(new long[] { 7, 8, 9, 7, 8 }, 3, new long[] { 9 })]    // "7 8 9" seen
    [InlineData(new long[] { 7, 8, 7, 9, 7 }, 2, new long[] { 8, 9 })]
    [InlineData(new long[] { 7, 8 }, 1, new long[] { 7, 8 })]          // unigrams: nothing twice
    [InlineData(new long[] { 7 }, 3, new long[0])]
    public void RepeatedNgramCompletionsAreTheTokensThatFollowedTheCurrentPrefix(long[] sequence, int n, long[] expected)
    {
        SequenceDecoder.RepeatedNgramCompletions(sequence, n).Should().BeEquivalentTo(expected);
    }

    [Fact]
    public void LengthPenaltyLetsALongerCaptionWin()
    {
        // bos → eos (0.45) | a (0.55);  a → b (0.9) | eos (0.1);  b → eos (0.9) | c (0.1);  c → eos.
        // Candidates: [] P = 0.45 (|Y| = 1);  [a b] P = 0.55·0.9·0.9 = 0.4455 (|Y| = 3);  [a] P = 0.055 (|Y| = 2).
        // Sum of log-probabilities: ln 0.45 = −0.7985 beats ln 0.4455 = −0.8085: the empty caption wins.
        // Power, α = 1 (mean per token): −0.7985/1 vs −0.8085/3 = −0.2695: [a b] wins.
        // GNMT, α = 1: −0.7985/((5+1)/6) = −0.7985 vs −0.8085/((5+3)/6) = −0.6064: [a b] wins.
        using var model = new BigramModel(new()
        {
            [1] = new() { [Eos] = 0.45, [A] = 0.55 },
            [A] = new() { [B] = 0.9, [Eos] = 0.1 },
            [B] = new() { [Eos] = 0.9, [C] = 0.1 },
            [C] = new() { [Eos] = 1.0 },
        });

        var plain = SequenceDecoder.BeamSearch(1, model.Step, Special, Decoding(2));
        var power = SequenceDecoder.BeamSearch(1, model.Step, Special, new SequenceDecodingOptions { BeamWidth = 2, MaxLength = 5, LengthPenalty = LengthPenaltyKind.Power });
        var gnmt = SequenceDecoder.BeamSearch(1, model.Step, Special, new SequenceDecodingOptions { BeamWidth = 2, MaxLength = 5, LengthPenalty = LengthPenaltyKind.Gnmt });

        plain.Tokens[0].Should().BeEmpty();
        plain.Scores[0].Should().BeApproximately(Math.Log(0.45), 1e-6);
        power.Tokens[0].Should().Equal(A, B);
        power.LogProbabilities[0].Should().BeApproximately(Math.Log(0.4455), 1e-6);
        power.Scores[0].Should().BeApproximately(Math.Log(0.4455) / 3, 1e-6);
        gnmt.Tokens[0].Should().Equal(A, B);
        gnmt.Scores[0].Should().BeApproximately(Math.Log(0.4455) / (8.0 / 6.0), 1e-6);
    }

    [Theory]
    [InlineData(LengthPenaltyKind.None, 0.7, 4, 1.0)]
    [InlineData(LengthPenaltyKind.Power, 1.0, 4, 4.0)]
    [InlineData(LengthPenaltyKind.Power, 0.5, 9, 3.0)]
    [InlineData(LengthPenaltyKind.Gnmt, 1.0, 7, 2.0)]                  // (5 + 7)/6 = 2
    [InlineData(LengthPenaltyKind.Gnmt, 0.5, 19, 2.0)]                 // √((5 + 19)/6) = √4
    public void LengthPenaltiesFollowTheirFormulas(LengthPenaltyKind kind, double alpha, int length, double expected)
    {
        new SequenceDecodingOptions { LengthPenalty = kind, LengthPenaltyAlpha = alpha }.Penalty(length).Should().BeApproximately(expected, 1e-12);
    }

    [Fact]
    public void BatchedSamplesAreDecodedIndependently()
    {
        // Two samples through the same bigram model: the batch gives what each gives alone.
        using var model = GreedyTrap();
        var both = SequenceDecoder.BeamSearch(2, model.Step, Special, Decoding(2));
        var one = SequenceDecoder.BeamSearch(1, model.Step, Special, Decoding(2));

        both.Tokens[0].Should().Equal(one.Tokens[0]);
        both.Tokens[1].Should().Equal(one.Tokens[0]);
        using var ids = both.ToTensor(padId: 0);
        ids.data<long>().ToArray().Should().Equal(B, B);
    }

    [Fact]
    public void DecodingStopsAtTheLengthLimitAndNeverEmitsSpecialTokens()
    {
        // bos → a; a → a: never ends. Pad and bos carry most of the probability and must still be skipped.
        using var model = new BigramModel(new()
        {
            [1] = new() { [0] = 0.5, [1] = 0.3, [A] = 0.2 },
            [A] = new() { [0] = 0.5, [1] = 0.3, [A] = 0.2 },
        });

        var greedy = SequenceDecoder.Greedy(1, model.Step, Special, Decoding(1, maxLength: 3));
        var beam = SequenceDecoder.BeamSearch(1, model.Step, Special, Decoding(3, maxLength: 3));

        greedy.Tokens[0].Should().Equal(A, A, A);
        greedy.Ended[0].Should().BeFalse();
        beam.Tokens[0].Should().Equal(A, A, A);
        beam.Ended[0].Should().BeFalse();
        beam.LogProbabilities[0].Should().BeApproximately(3 * Math.Log(0.2), 1e-6);
    }

    [Fact]
    public void TiesGoToTheLowerTokenId()
    {
        // bos → a (0.4) | b (0.4) | eos (0.2); a → eos; b → eos. Both a and b give 0.4: a (id 3) wins.
        using var model = new BigramModel(new()
        {
            [1] = new() { [A] = 0.4, [B] = 0.4, [Eos] = 0.2 },
            [A] = new() { [Eos] = 1.0 },
            [B] = new() { [Eos] = 1.0 },
        });

        SequenceDecoder.Greedy(1, model.Step, Special, Decoding(1)).Tokens[0].Should().Equal(A);
        SequenceDecoder.BeamSearch(1, model.Step, Special, Decoding(3)).Tokens[0].Should().Equal(A);
    }

    private static CaptionHeadOptions CaptionHeadOptions() => new() { VocabSize = 6, MaxLength = 8, Depth = 1, NumHeads = 2 };
}

[Collection(SeededCollection.Name)]
public class SeededDecodingTests
{
    [Fact]
    public void TheSameSeedGivesTheSameHeadAndTheSameCaptions()
    {
        var layout = new TokenLayout(16, 1);
        var options = CaptionHeadTests.Options(o => o.Decoding = new SequenceDecodingOptions { BeamWidth = 3, NoRepeatNgramSize = 2 });

        torch.manual_seed(42);
        using var first = new CaptionHead("caption", layout, options);
        using var tokens = randn(3, 5, 16);
        torch.manual_seed(42);
        using var second = new CaptionHead("caption", layout, options);
        using var sameTokens = randn(3, 5, 16);

        foreach (var (name, parameter) in first.state_dict())
        {
            parameter.allclose(second.state_dict()[name], rtol: 0, atol: 0).Should().BeTrue(name);
        }

        tokens.allclose(sameTokens, rtol: 0, atol: 0).Should().BeTrue();
        var a = first.Generate(tokens);
        var b = second.Generate(sameTokens);
        for (int i = 0; i < 3; i++)
        {
            a.Tokens[i].Should().Equal(b.Tokens[i]);
            a.LogProbabilities[i].Should().Be(b.LogProbabilities[i]);
        }
    }
}
