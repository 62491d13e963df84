using FluentAssertions;
using SpatialNet.Heads;
using SpatialNet.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SpatialNet.Core.Tests.Heads;

/// <summary>Key/value-cached (incremental) decoding: the modules' cached paths, the search contract, and the caption head.</summary>
public class IncrementalDecodingTests
{
    private static readonly SpecialTokens Special = new(Pad: 0, Bos: 1, Eos: 2);

    [Fact]
    public void CachedSelfAttentionOfTheNewestTokenIsCausalAttentionAtTheLastPosition()
    {
        // The last position's output written out by hand: per head, softmax_j(q_T·k_j / √hd) over
        // every position j ≤ T, times v_j; heads concatenated; then the output projection.
        const int d = 12, heads = 3, hd = d / heads, t = 5;
        using var attention = new MultiHeadSelfAttention(d, heads);
        attention.to(float64);
        using var x = randn(2, t, d, dtype: float64);
        using var cache = new KeyValueCache();

        Tensor? last = null;
        for (int i = 0; i < t; i++)
        {
            last?.Dispose();
            using var token = x.narrow(1, i, 1);
            last = attention.ForwardCached(token, cache);
        }

        var weights = attention.state_dict();
        using var qkv = nn.functional.linear(x, weights["qkv.weight"], weights["qkv.bias"]);   // [2, T, 3D]
        using var q = qkv.narrow(1, t - 1, 1).narrow(2, 0, d).reshape(2, 1, heads, hd).transpose(1, 2);   // [2, h, 1, hd]
        using var k = qkv.narrow(2, d, d).reshape(2, t, heads, hd).transpose(1, 2);                     // [2, h, T, hd]
        using var v = qkv.narrow(2, 2 * d, d).reshape(2, t, heads, hd).transpose(1, 2);
        using var scores = q.matmul(k.transpose(2, 3)) / Math.Sqrt(hd);                                  // [2, h, 1, T]
        using var mixed = scores.softmax(-1).matmul(v).transpose(1, 2).reshape(2, 1, d);
        using var expected = nn.functional.linear(mixed, weights["proj.weight"], weights["proj.bias"]);

        cache.Length.Should().Be(t);
        last!.shape.Should().Equal(2, 1, d);
        last.allclose(expected, rtol: 0, atol: 1e-12).Should().BeTrue();
        last.Dispose();
    }

    [Fact]
    public void CachedSelfAttentionOfSeveralNewTokensEqualsCausalAttentionOverTheWholeSequence()
    {
        using var attention = new MultiHeadSelfAttention(8, 2);
        attention.to(float64);
        using var x = randn(3, 6, 8, dtype: float64);
        using var causal = TextMasks.Causal(6);
        using var full = attention.Forward(x, causal);
        using var cache = new KeyValueCache();

        // Positions 0..3 in one call (a shifted causal mask among them), then 4, then 5.
        using var first = attention.ForwardCached(x.narrow(1, 0, 4), cache);
        using var fifth = attention.ForwardCached(x.narrow(1, 4, 1), cache);
        using var sixth = attention.ForwardCached(x.narrow(1, 5, 1), cache);

        first.allclose(full.narrow(1, 0, 4), rtol: 0, atol: 1e-12).Should().BeTrue();
        fifth.allclose(full.narrow(1, 4, 1), rtol: 0, atol: 1e-12).Should().BeTrue();
        sixth.allclose(full.narrow(1, 5, 1), rtol: 0, atol: 1e-12).Should().BeTrue();
    }

    [Fact]
    public void TheCausalFormOfAttention_EqualsTheExplicitLowerTriangleMask()
    {
        using var attention = new MultiHeadSelfAttention(8, 2);
        attention.to(float64);
        using var x = randn(3, 6, 8, dtype: float64);
        using var mask = ones(6, 6, dtype: @bool).tril();

        using var masked = attention.Forward(x, mask);
        using var causal = attention.Forward(x, null, isCausal: true);
        using var unmasked = attention.Forward(x, null);

        causal.allclose(masked, rtol: 0, atol: 1e-12).Should().BeTrue();
        unmasked.allclose(masked, rtol: 0, atol: 1e-6).Should().BeFalse("without causality later tokens change earlier outputs");
        attention.Invoking(a => a.Forward(x, mask, isCausal: true)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void CachedCrossAttentionGroupsBeamRowsOnTheirSamplesMemory()
    {
        // 2 samples × 3 beams: attending to the cached memory of the 2 samples equals attending to
        // the memory repeated per beam (the uncached beam search layout).
        using var attention = new CrossAttention(8, 2, memoryDim: 6);
        attention.to(float64);
        using var x = randn(6, 2, 8, dtype: float64);
        using var memory = randn(2, 4, 6, dtype: float64);
        using var repeated = memory.repeat_interleave(3, 0);
        using var cache = attention.MemoryCache(memory);

        using var expected = attention.Forward(x, repeated, null);
        using var actual = attention.Forward(x, cache, null);

        cache.Keys!.shape.Should().Equal(2, 2, 4, 4);
        actual.allclose(expected, rtol: 0, atol: 1e-12).Should().BeTrue();
        FluentActions.Invoking(() => attention.Forward(randn(5, 1, 8, dtype: float64), cache, null)).Should().Throw<ArgumentException>()
            .WithMessage("CrossAttention expects queries [B·g, T, 8] and cached memory keys [B, 2, N, 4]; got [5, 1, 8] and [2, 2, 4, 4].");
    }

    [Fact]
    public void TokenEmbeddingAtAnOffsetUsesTheLaterPositions()
    {
        using var embedding = new TokenEmbedding(10, 6, 4);
        using var ids = tensor(new long[] { 1, 5, 7, 3, 1, 9, 8, 4 }, [2, 4]);
        using var whole = embedding.call(ids);

        using var tail = embedding.Forward(ids.narrow(1, 2, 2), 2);

        tail.allclose(whole.narrow(1, 2, 2), rtol: 0, atol: 0).Should().BeTrue();
        FluentActions.Invoking(() => embedding.Forward(ids.narrow(1, 0, 2), 5)).Should().Throw<ArgumentException>()
            .WithMessage("Tokens at positions 5 to 6 are not allowed; allowed: positions 0 to 5 (the position table's length).*");
    }

    /// <summary>
    /// A next-token model whose logits depend on the whole prefix: a decaying sum
    /// h = ½·h + W[token] over the prefix, started from a per-sample vector, so beams that swap
    /// rows must carry their state along. Both forms do the same float operations in the same order.
    /// </summary>
    private sealed class DecayingSumModel : IDisposable
    {
        private readonly Tensor table;     // [V, V]
        private readonly Tensor starts;    // [B, V]
        private readonly int rowsPerSample;
        private Tensor? state;             // incremental form: [R, V]

        public DecayingSumModel(int samples, int rowsPerSample, int vocab, int seed)
        {
            var random = new Random(seed);
            double Draw() => 3.0 * (random.NextDouble() - 0.5);
            table = tensor(Enumerable.Range(0, vocab * vocab).Select(_ => Draw()).ToArray(), [vocab, vocab], dtype: float64);
            starts = tensor(Enumerable.Range(0, samples * vocab).Select(_ => Draw()).ToArray(), [samples, vocab], dtype: float64);
            this.rowsPerSample = rowsPerSample;
        }

        public List<long[]?> Parents { get; } = [];

        public List<long[]> Newest { get; } = [];

        private Tensor Start(long rows)
        {
            using var sample = tensor(Enumerable.Range(0, (int)rows).Select(r => (long)(r / rowsPerSample)).ToArray());
            return starts.index_select(0, sample);
        }

        public Tensor Prefixes(Tensor prefix)
        {
            using var scope = NewDisposeScope();
            var h = Start(prefix.shape[0]);
            for (int c = 0; c < prefix.shape[1]; c++)
            {
                h = 0.5 * h + table.index_select(0, prefix.select(1, c));
            }

            return h.MoveToOuterDisposeScope();
        }

        public Tensor Step(Tensor newest, Tensor? parents)
        {
            Newest.Add(newest.data<long>().ToArray());
            Parents.Add(parents?.data<long>().ToArray());
            using var scope = NewDisposeScope();
            var h = state ?? Start(newest.shape[0]);
            if (parents is not null)
            {
                h = h.index_select(0, parents);
            }

            var next = 0.5 * h + table.index_select(0, newest);
            state?.Dispose();
            state = next.clone().DetachFromDisposeScope();
            return next.MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
            table.Dispose();
            starts.Dispose();
            state?.Dispose();
        }
    }

    [Theory]
    [InlineData(1, 0, LengthPenaltyKind.None)]
    [InlineData(1, 2, LengthPenaltyKind.None)]
    [InlineData(3, 0, LengthPenaltyKind.None)]
    [InlineData(3, 2, LengthPenaltyKind.Gnmt)]
    [InlineData(4, 0, LengthPenaltyKind.Power)]
    public void AnIncrementalModelDecodesExactlyAsItsPrefixForm(int beams, int noRepeat, LengthPenaltyKind penalty)
    {
        const int samples = 5, vocab = 9;
        var options = new SequenceDecodingOptions { BeamWidth = beams, MaxLength = 7, NoRepeatNgramSize = noRepeat, LengthPenalty = penalty };
        using var prefixModel = new DecayingSumModel(samples, beams, vocab, seed: 11);
        using var stepModel = new DecayingSumModel(samples, beams, vocab, seed: 11);

        var expected = SequenceDecoder.Decode(samples, prefixModel.Prefixes, Special, options);
        var actual = SequenceDecoder.Decode(samples, stepModel.Step, Special, options);

        for (int i = 0; i < samples; i++)
        {
            actual.Tokens[i].Should().Equal(expected.Tokens[i], $"sample {i}");
            actual.Ended[i].Should().Be(expected.Ended[i]);
            actual.LogProbabilities[i].Should().Be(expected.LogProbabilities[i]);
            actual.Scores[i].Should().Be(expected.Scores[i]);
        }

        // Not vacuous: the samples decode differently, the first call sees start tokens and no parents,
        // and beam search moves rows (a row continues another row's prefix) after the first step.
        expected.Tokens.Select(t => string.Join(",", t)).Distinct().Count().Should().BeGreaterThan(2);
        stepModel.Newest[0].Should().AllSatisfy(t => t.Should().Be(Special.Bos));
        stepModel.Parents[0].Should().BeNull();
        if (beams == 1)
        {
            stepModel.Parents.Should().AllSatisfy(p => p.Should().BeNull());
        }
        else
        {
            stepModel.Parents.Skip(1).Should().Contain(p => p != null && p.Where((parent, row) => parent != row).Any());
            stepModel.Parents.Skip(2).Should().Contain(p => p != null && p.Where((parent, row) => parent != row && parent % beams != 0).Any(),
                "some beam continues a beam other than its sample's first");
        }
    }

    /// <summary>
    /// A float64 caption head with weights drawn from a seeded generator (so the test does not depend
    /// on the global generator or the order tests run in), and dropout configured, which Generate turns off.
    /// </summary>
    private static CaptionHead RandomHead(int width, int vocab, int maxLength, int memoryDim, int seed)
    {
        var head = new CaptionHead("caption", new TokenLayout(memoryDim, 1), new CaptionHeadOptions
        {
            VocabSize = vocab, MaxLength = maxLength, EmbedDim = width, Depth = 2, NumHeads = 4,
            TieEmbeddings = false, TextDropRate = 0.1, Dropout = 0.1,
        });
        head.to(float64);
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in head.named_parameters())
        {
            // A random decoder with small weights is nearly uniform and ignores the image: larger
            // cross-attention and output weights make captions depend on the image and end at different lengths.
            double std = name.Contains("cross_attn", StringComparison.Ordinal) ? CrossStd
                : name == "head.weight" ? OutputStd
                : parameter.dim() >= 2 ? 0.02 : 0.0;
            if (std > 0)
            {
                using var drawn = randn(parameter.shape, dtype: float64, generator: generator);
                parameter.copy_(drawn * std);
            }
        }

        return head;
    }

    private const double CrossStd = 0.3, OutputStd = 1.0;

    private static Tensor RandomTokens(long images, long count, long dim, int seed)
    {
        using var generator = new Generator((ulong)seed);
        return randn([images, count, dim], dtype: float64, generator: generator);
    }

    [Theory]
    [InlineData(1, 0, LengthPenaltyKind.None)]
    [InlineData(1, 2, LengthPenaltyKind.None)]
    [InlineData(3, 0, LengthPenaltyKind.None)]
    [InlineData(3, 2, LengthPenaltyKind.Gnmt)]
    [InlineData(3, 0, LengthPenaltyKind.Power)]
    public void CachedGenerateGivesTheCaptionsOfTheUncachedDecoder(int beams, int noRepeat, LengthPenaltyKind penalty)
    {
        using var head = RandomHead(width: 32, vocab: 30, maxLength: 12, memoryDim: 24, seed: 5);
        using var tokens = RandomTokens(6, 9, 24, seed: 6);
        var options = new SequenceDecodingOptions { BeamWidth = beams, NoRepeatNgramSize = noRepeat, LengthPenalty = penalty };

        var cached = head.Generate(tokens, options);
        var uncached = head.Generate(tokens, new SequenceDecodingOptions
        {
            BeamWidth = beams, NoRepeatNgramSize = noRepeat, LengthPenalty = penalty, UseCache = false,
        });

        for (int i = 0; i < tokens.shape[0]; i++)
        {
            cached.Tokens[i].Should().Equal(uncached.Tokens[i], $"image {i}");
            cached.Ended[i].Should().Be(uncached.Ended[i]);
            cached.LogProbabilities[i].Should().BeApproximately(uncached.LogProbabilities[i], 1e-9);
            cached.Scores[i].Should().BeApproximately(uncached.Scores[i], 1e-9);
        }

        // Not vacuous: the images get different captions of different lengths.
        cached.Tokens.Select(t => string.Join(",", t)).Distinct().Count().Should().BeGreaterThan(2);
        cached.Tokens.Select(t => t.Count).Distinct().Count().Should().BeGreaterThan(1);
        head.training.Should().BeTrue("Generate restores the training mode");
    }

    [Fact]
    public void BeamSearchOnTheRandomHeadDiffersFromGreedySoBeamBookkeepingIsExercised()
    {
        using var head = RandomHead(width: 32, vocab: 30, maxLength: 12, memoryDim: 24, seed: 5);
        using var tokens = RandomTokens(6, 9, 24, seed: 6);

        var greedy = head.Generate(tokens, new SequenceDecodingOptions { BeamWidth = 1 });
        var beam = head.Generate(tokens, new SequenceDecodingOptions { BeamWidth = 3 });

        Enumerable.Range(0, 6).Should().Contain(i => !beam.Tokens[i].SequenceEqual(greedy.Tokens[i]));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(3, true)]
    [InlineData(3, false)]
    public void GenerateLeavesNoTensorAlive(int beams, bool useCache)
    {
        using var head = RandomHead(width: 16, vocab: 12, maxLength: 8, memoryDim: 16, seed: 7);
        using var tokens = RandomTokens(3, 5, 16, seed: 8);
        var options = new SequenceDecodingOptions { BeamWidth = beams, UseCache = useCache };

        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var result = head.Generate(tokens, options);
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        result.Count.Should().Be(3);
        after.Should().Be(before);
    }
}
