using System.Text.Json;
using FluentAssertions;
using SpatialNet.Training.Metrics.Captioning;
using Xunit;

namespace SpatialNet.Training.Tests.Metrics;

/// <summary>
/// BLEU, ROUGE-L and CIDEr-D against the values pycocoevalcap (commit ad63453) returns for the public
/// vectors, for both tokenisations; every corpus and per-image value.
/// </summary>
public sealed class CocoCaptionMetricsTests
{
    private static readonly JsonElement Captions = MetricAssert.LoadFixture("public_captions.json");
    private static readonly JsonElement Expected = MetricAssert.LoadFixture("public_expected.json");

    internal static CaptionSet LoadSet(string refsKey, string candsKey)
    {
        var order = Captions.GetProperty("image_order").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var refs = Captions.GetProperty(refsKey).EnumerateObject().ToDictionary(
            p => p.Name, p => (IReadOnlyList<string>)p.Value.EnumerateArray().Select(e => e.GetString()!).ToArray());
        var cands = Captions.GetProperty(candsKey).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        return new CaptionSet(refs, cands, order);
    }

    [Theory]
    [InlineData("simple")]
    [InlineData("ptb")]
    public void Bleu_matches_pycocoevalcap_corpus_and_per_image(string tokenization)
    {
        var set = LoadSet("refs_" + tokenization, "cands_" + tokenization);
        var expected = Expected.GetProperty(tokenization);
        var result = new BleuScorer(4).Score(set);

        for (int k = 0; k < 4; k++)
        {
            MetricAssert.Close(result.Corpus[k], expected.GetProperty("corpus").GetProperty($"Bleu_{k + 1}").GetDouble(), $"{tokenization} corpus Bleu_{k + 1}");
        }

        for (int i = 0; i < set.Count; i++)
        {
            var image = expected.GetProperty("per_image").GetProperty(set.ImageIds[i]);
            for (int k = 0; k < 4; k++)
            {
                MetricAssert.Close(result.PerImage[i][k], image.GetProperty($"Bleu_{k + 1}").GetDouble(), $"{tokenization} {set.ImageIds[i]} Bleu_{k + 1}");
            }

            var stats = image.GetProperty("bleu_stats");
            result.Statistics[i].TestLength.Should().Be(stats.GetProperty("testlen").GetInt32());
            result.Statistics[i].ClosestReferenceLength.Should().Be(stats.GetProperty("closest_reflen").GetInt32());
            result.Statistics[i].Guess.Should().Equal(stats.GetProperty("guess").EnumerateArray().Select(e => e.GetInt32()));
            result.Statistics[i].Correct.Should().Equal(stats.GetProperty("correct").EnumerateArray().Select(e => e.GetInt32()));
        }
    }

    [Theory]
    [InlineData("simple")]
    [InlineData("ptb")]
    public void RougeL_matches_pycocoevalcap_corpus_and_per_image(string tokenization)
    {
        var set = LoadSet("refs_" + tokenization, "cands_" + tokenization);
        var expected = Expected.GetProperty(tokenization);
        var result = new RougeLScorer().Score(set);

        MetricAssert.Close(result.Corpus, expected.GetProperty("corpus").GetProperty("ROUGE_L").GetDouble(), $"{tokenization} corpus ROUGE_L");
        for (int i = 0; i < set.Count; i++)
        {
            MetricAssert.Close(result.PerImage[i], expected.GetProperty("per_image").GetProperty(set.ImageIds[i]).GetProperty("ROUGE_L").GetDouble(), $"{tokenization} {set.ImageIds[i]} ROUGE_L");
        }
    }

    [Theory]
    [InlineData("simple")]
    [InlineData("ptb")]
    public void CiderD_matches_pycocoevalcap_corpus_and_per_image(string tokenization)
    {
        var set = LoadSet("refs_" + tokenization, "cands_" + tokenization);
        var expected = Expected.GetProperty(tokenization);
        var result = new CiderDScorer().Score(set);

        MetricAssert.Close(result.Corpus, expected.GetProperty("corpus").GetProperty("CIDEr").GetDouble(), $"{tokenization} corpus CIDEr");
        for (int i = 0; i < set.Count; i++)
        {
            MetricAssert.Close(result.PerImage[i], expected.GetProperty("per_image").GetProperty(set.ImageIds[i]).GetProperty("CIDEr").GetDouble(), $"{tokenization} {set.ImageIds[i]} CIDEr");
        }
    }

    [Fact]
    public void Simple_tokenizer_reproduces_the_public_simple_tokenisation()
    {
        var raw = LoadSet("refs", "cands");
        var simple = LoadSet("refs_simple", "cands_simple");
        foreach (var id in raw.ImageIds)
        {
            CaptionTokenizer.Simple(raw.CandidateOf(id)).Should().Be(simple.CandidateOf(id));
            raw.ReferencesOf(id).Select(CaptionTokenizer.Simple).Should().Equal(simple.ReferencesOf(id));
        }
    }
}
