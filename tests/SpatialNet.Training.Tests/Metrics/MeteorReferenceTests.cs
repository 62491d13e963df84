using System.Text.Json;
using FluentAssertions;
using SpatialNet.Training.Metrics.Captioning;
using SpatialNet.Training.Metrics.Meteor;
using Xunit;

namespace SpatialNet.Training.Tests.Metrics;

/// <summary>
/// METEOR against stock Meteor 1.5's output on the public vectors (public_meteor.json): corpus,
/// per-image scores, per-reference statistics, tokens, alignments, stems and function words.
/// </summary>
public sealed class MeteorReferenceTests
{
    private static readonly JsonElement Reference = MetricAssert.LoadFixture("public_meteor.json");

    private static readonly string[] StatisticFields = ["score", "precision", "recall", "fMean", "fragPenalty"];

    private static MeteorOptions OptionsFor(string moduleSet) => moduleSet switch
    {
        "exact" => new MeteorOptions { Modules = [MeteorModule.Exact] },
        "exact_stem" => new MeteorOptions { Modules = [MeteorModule.Exact, MeteorModule.Stem] },
        "exact_stem_synonym" => new MeteorOptions
        {
            Modules = [MeteorModule.Exact, MeteorModule.Stem, MeteorModule.Synonym],
            Synonyms = MinimalWordNet(),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(moduleSet)),
    };

    /// <summary>
    /// The few WordNet facts the public captions touch: "is"/"are" are forms of "be" (exceptions file),
    /// "plane" and "airplane" share a synset. Enough to reproduce stock Meteor's synonym-module output here.
    /// </summary>
    private static WordNetSynonymDictionary MinimalWordNet() => WordNetSynonymDictionary.FromData(
        [new("be", [2604760]), new("plane", [2691156]), new("airplane", [2691156])],
        [new("be", ["is", "are", "was", "were"])]);

    [Fact]
    public void Stemmer_matches_snowball_english_for_every_public_token()
    {
        foreach (var entry in Reference.GetProperty("snowball_english_stems").EnumerateObject())
        {
            SnowballEnglishStemmer.Stem(entry.Name).Should().Be(entry.Value.GetString(), $"stem of '{entry.Name}'");
        }
    }

    [Fact]
    public void Function_word_list_is_meteors_english_list()
    {
        var expected = Reference.GetProperty("function_words_english").EnumerateArray().Select(e => e.GetString()!).ToArray();
        MeteorFunctionWords.English.Should().BeEquivalentTo(expected);
    }

    [Fact]
    public void Normalizer_produces_meteors_tokens_for_every_raw_caption()
    {
        var scorer = new MeteorScorer();
        var set = CocoCaptionMetricsTests.LoadSet("refs", "cands");
        var details = Reference.GetProperty("module_sets").GetProperty("exact").GetProperty("per_image_detail");
        foreach (var id in set.ImageIds)
        {
            var detail = details.GetProperty(id);
            scorer.Prepare(set.CandidateOf(id)).Should().Equal(Strings(detail.GetProperty("test_tokens")), $"{id} candidate");
            string.Join(' ', scorer.Prepare(set.CandidateOf(id))).Should().Be(detail.GetProperty("cand_normalized").GetString());
            var perRef = detail.GetProperty("per_ref").EnumerateArray().ToArray();
            for (int r = 0; r < perRef.Length; r++)
            {
                scorer.Prepare(set.ReferencesOf(id)[r]).Should().Equal(Strings(perRef[r].GetProperty("ref_tokens")), $"{id} reference {r}");
            }
        }
    }

    [Theory]
    [InlineData("exact")]
    [InlineData("exact_stem")]
    [InlineData("exact_stem_synonym")]
    public void Raw_captions_match_stock_meteor_corpus_per_image_and_per_reference(string moduleSet)
    {
        var expected = Reference.GetProperty("module_sets").GetProperty(moduleSet);
        var set = CocoCaptionMetricsTests.LoadSet("refs", "cands");
        var result = new MeteorScorer(OptionsFor(moduleSet)).Score(set.Pairs());

        MetricAssert.Close(result.Corpus, expected.GetProperty("corpus").GetDouble(), $"{moduleSet} corpus");
        AssertStatistics(result.CorpusStatistics, expected.GetProperty("corpus_stats"), $"{moduleSet} corpus");

        for (int i = 0; i < set.Count; i++)
        {
            string id = set.ImageIds[i];
            MetricAssert.Close(result.PerImage[i], expected.GetProperty("per_image").GetProperty(id).GetDouble(), $"{moduleSet} {id}");
            var detail = expected.GetProperty("per_image_detail").GetProperty(id);
            var segment = result.Segments[i];
            segment.BestReferenceIndex.Should().Be(detail.GetProperty("best_ref_index").GetInt32(), $"{moduleSet} {id} best reference");
            AssertStatistics(segment.Best, detail, $"{moduleSet} {id}");
            segment.Best.Alignment!.TestFunctionWordIndices.Should().Equal(Ints(detail.GetProperty("test_function_word_idx")));
            segment.Best.Alignment!.ReferenceFunctionWordIndices.Should().Equal(Ints(detail.GetProperty("ref_function_word_idx")));

            var perRef = detail.GetProperty("per_ref").EnumerateArray().ToArray();
            segment.PerReference.Should().HaveCount(perRef.Length);
            for (int r = 0; r < perRef.Length; r++)
            {
                AssertStatistics(segment.PerReference[r], perRef[r], $"{moduleSet} {id} reference {r}");
                AssertAlignment(segment.PerReference[r].Alignment!, perRef[r].GetProperty("alignment"), $"{moduleSet} {id} reference {r}");
            }
        }
    }

    [Theory]
    [InlineData("ptb", "exact")]
    [InlineData("ptb", "exact_stem")]
    [InlineData("ptb", "exact_stem_synonym")]
    [InlineData("simple", "exact")]
    [InlineData("simple", "exact_stem")]
    [InlineData("simple", "exact_stem_synonym")]
    public void Tokenised_captions_match_stock_meteor(string tokenization, string moduleSet)
    {
        var expected = Reference.GetProperty("supplementary_pretokenized_inputs").GetProperty(tokenization).GetProperty("module_sets").GetProperty(moduleSet);
        var set = CocoCaptionMetricsTests.LoadSet("refs_" + tokenization, "cands_" + tokenization);
        var result = new MeteorScorer(OptionsFor(moduleSet)).Score(set.Pairs());

        MetricAssert.Close(result.Corpus, expected.GetProperty("corpus").GetDouble(), $"{tokenization} {moduleSet} corpus");
        for (int i = 0; i < set.Count; i++)
        {
            MetricAssert.Close(result.PerImage[i], expected.GetProperty("per_image").GetProperty(set.ImageIds[i]).GetDouble(), $"{tokenization} {moduleSet} {set.ImageIds[i]}");
        }
    }

    private static void AssertStatistics(MeteorStatistics actual, JsonElement expected, string what)
    {
        var values = new Dictionary<string, double>
        {
            ["score"] = actual.Score,
            ["precision"] = actual.Precision,
            ["recall"] = actual.Recall,
            ["fMean"] = actual.FMean,
            ["fragPenalty"] = actual.FragPenalty,
        };
        foreach (var field in StatisticFields)
        {
            var e = expected.GetProperty(field);
            if (e.ValueKind == JsonValueKind.String)
            {
                e.GetString().Should().Be("NaN");
                double.IsNaN(values[field]).Should().BeTrue($"{what} {field} should be NaN");
            }
            else
            {
                MetricAssert.Close(values[field], e.GetDouble(), $"{what} {field}");
            }
        }

        actual.ToSufficientStatistics().Should().Equal(expected.GetProperty("sufficient_stats").EnumerateArray().Select(x => x.GetDouble()), $"{what} sufficient statistics");
        MetricAssert.Close(actual.TestWeightedMatches, expected.GetProperty("testWeightedMatches").GetDouble(), $"{what} testWeightedMatches");
        MetricAssert.Close(actual.ReferenceWeightedMatches, expected.GetProperty("referenceWeightedMatches").GetDouble(), $"{what} referenceWeightedMatches");
    }

    private static void AssertAlignment(MeteorAlignment actual, JsonElement expected, string what)
    {
        // Each expected row: [refStart, refLength, testStart, testLength, module].
        var rows = expected.EnumerateArray().Select(r => Ints(r)).ToArray();
        actual.Matches.Should().HaveCount(rows.Length, what);
        for (int k = 0; k < rows.Length; k++)
        {
            var m = actual.Matches[k];
            new[] { m.RefStart, m.RefLength, m.TestStart, m.TestLength, m.Stage }.Should().Equal(rows[k], $"{what} match {k}");
        }
    }

    private static string[] Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
}
