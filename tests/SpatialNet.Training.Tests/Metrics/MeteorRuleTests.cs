using FluentAssertions;
using SpatialNet.Training.Metrics.Meteor;
using Xunit;

namespace SpatialNet.Training.Tests.Metrics;

/// <summary>
/// METEOR rules checked on hand-made inputs; expected values follow from the rules written down in
/// shared/metrics/METEOR.md and from the Snowball English stemmer's published sample vocabulary.
/// </summary>
public sealed class MeteorRuleTests
{
    [Theory]
    [InlineData("PLAYGROUND!!", "playground ! !")]
    [InlineData("a...b", "a ... b")]
    [InlineData("1,000 people, and more", "1,000 people , and more")]
    [InlineData("\u201Cx\u201D", "\" x \"")]
    [InlineData("\u2018quoted\u2019", "' quoted '")]
    [InlineData("cross-shaped", "cross shaped")]
    [InlineData("a - b", "a - b")]
    [InlineData("a--b", "a b")]
    [InlineData("it's", "it 's")]
    [InlineData("the 1990's", "the 1990 's")]
    [InlineData("U.S. army", "us army")]
    [InlineData("Mr. Smith", "mr. smith")]
    [InlineData("the end.", "the end .")]
    [InlineData("No. 5", "no. 5")]
    [InlineData("No. Way", "no . way")]
    [InlineData("Inc. is here", "inc. is here")]
    [InlineData("caf\u00E9-bar", "caf\u00E9 bar")]
    [InlineData("  spaced\u00A0\u2003out  ", "spaced out")]
    public void Normalizer_follows_meteors_norm_rules(string raw, string expected)
    {
        MeteorNormalizer.Normalize(raw).Should().Be(expected);
    }

    [Fact]
    public void Lowercasing_follows_java_special_casing()
    {
        // Java's toLowerCase (Unicode SpecialCasing): İ → i + U+0307; capital sigma at a word end → ς.
        MeteorNormalizer.JavaLowerCase("\u0130STANBUL").Should().Be("i\u0307stanbul");
        MeteorNormalizer.JavaLowerCase("\u039F\u0394\u039F\u03A3 \u03A3").Should().Be("\u03BF\u03B4\u03BF\u03C2 \u03C3");
    }

    [Fact]
    public void Options_with_mismatched_weights_are_rejected_with_the_option_named()
    {
        var act = () => new MeteorScorer(new MeteorOptions { Modules = [MeteorModule.Exact, MeteorModule.Stem], ModuleWeights = [1.0] });
        act.Should().Throw<ArgumentException>().WithMessage("*MeteorOptions.ModuleWeights*");
    }

    [Theory]
    // Snowball's published English sample vocabulary.
    [InlineData("consign", "consign")]
    [InlineData("consigned", "consign")]
    [InlineData("consigning", "consign")]
    [InlineData("consignment", "consign")]
    [InlineData("consistency", "consist")]
    [InlineData("consistently", "consist")]
    [InlineData("consolation", "consol")]
    [InlineData("consolatory", "consolatori")]
    [InlineData("consolidated", "consolid")]
    [InlineData("consolingly", "consol")]
    [InlineData("conspicuously", "conspicu")]
    [InlineData("conspiracy", "conspiraci")]
    [InlineData("constable", "constabl")]
    [InlineData("knackeries", "knackeri")]
    [InlineData("kneeling", "kneel")]
    [InlineData("knightly", "knight")]
    [InlineData("knitting", "knit")]
    [InlineData("knives", "knive")]
    // Exceptional forms and short words.
    [InlineData("skies", "sky")]
    [InlineData("dying", "die")]
    [InlineData("news", "news")]
    [InlineData("inning", "inning")]
    [InlineData("is", "is")]
    [InlineData("'s", "'s")]
    // Step 1a and 1b rules.
    [InlineData("cries", "cri")]
    [InlineData("ties", "tie")]
    [InlineData("gas", "gas")]
    [InlineData("gaps", "gap")]
    [InlineData("hopping", "hop")]
    [InlineData("hoping", "hope")]
    public void Stemmer_follows_snowball_english(string word, string stem)
    {
        SnowballEnglishStemmer.Stem(word).Should().Be(stem);
    }

    [Fact]
    public void Identical_segments_score_one()
    {
        // Every word matched in one chunk: P = R = 1, fMean = 1, no fragmentation.
        new MeteorScorer().ScorePair("a cat", "a cat").Score.Should().Be(1.0);
    }

    [Fact]
    public void Swapped_words_get_the_full_fragmentation_penalty()
    {
        // "cat dog" vs "dog cat": both exact, two chunks. P = R = 1, frag = 2 / ((2 + 2) / 2) = 1,
        // penalty = 0.6 · 1^0.2 = 0.6, score = 1 · (1 − 0.6) = 0.4.
        var s = new MeteorScorer().ScorePair("cat dog", "dog cat");
        s.Chunks.Should().Be(2);
        s.FragPenalty.Should().BeApproximately(0.6, 1e-15);
        s.Score.Should().BeApproximately(0.4, 1e-15);
    }

    [Fact]
    public void Stem_match_counts_with_weight_point_six()
    {
        // "cats" vs "cat" (content words): a stem match. P = R = 0.6·0.75 / 0.75 = 0.6, fMean = 0.6.
        // Every word is matched (by any module) in one chunk, so there is no fragmentation: score 0.6.
        var s = new MeteorScorer().ScorePair("cats", "cat");
        s.Precision.Should().BeApproximately(0.6, 1e-15);
        s.Recall.Should().BeApproximately(0.6, 1e-15);
        s.FragPenalty.Should().Be(0.0);
        s.Score.Should().BeApproximately(0.6, 1e-15);
        new MeteorScorer(new MeteorOptions { Modules = [MeteorModule.Exact] }).ScorePair("cats", "cat").Score.Should().Be(0.0);
    }

    [Fact]
    public void Adding_synonyms_can_lower_a_score_because_the_stem_match_is_no_longer_fixed()
    {
        // Test "cats a sat", reference "a cat sat". With exact + stem, cat↔cats is the only candidate
        // at its position and is placed before the search. A synonym source that also links cat and
        // cats adds a second candidate there, so the match is searched for: it adds (int)(1 + 0.5) − 1 = 0
        // weighted matches and one extra chunk, so the path that skips it wins and the score falls back to
        // the exact-only score.
        var synonyms = WordNetSynonymDictionary.FromData([new("cat", [1]), new("cats", [1])], []);
        double exactOnly = new MeteorScorer(new MeteorOptions { Modules = [MeteorModule.Exact] }).ScorePair("cats a sat", "a cat sat").Score;
        double exactStem = new MeteorScorer().ScorePair("cats a sat", "a cat sat").Score;
        var withSynonyms = new MeteorScorer(new MeteorOptions
        {
            Modules = [MeteorModule.Exact, MeteorModule.Stem, MeteorModule.Synonym],
            Synonyms = synonyms,
        }).ScorePair("cats a sat", "a cat sat");

        exactStem.Should().BeGreaterThan(exactOnly);
        withSynonyms.Alignment!.Matches.Should().HaveCount(2);
        withSynonyms.Score.Should().Be(exactOnly);
    }

    [Fact]
    public void Synonym_dictionary_uses_exceptions_then_morphological_rules()
    {
        var dict = WordNetSynonymDictionary.FromData(
            [new("be", [7]), new("tree", [3]), new("box", [5])],
            [new("be", ["is", "are"])]);
        dict.SynsetsOf("are").Should().BeEquivalentTo([7]);
        dict.SynsetsOf("trees").Should().BeEquivalentTo([3]);   // -s → ""
        dict.SynsetsOf("boxes").Should().BeEquivalentTo([5]);   // -xes → -x
        dict.SynsetsOf("unknown").Should().BeEmpty();
    }

    [Fact]
    public void Synonym_files_load_in_meteors_layout()
    {
        var dir = Directory.CreateTempSubdirectory("spatialnet-meteor-");
        try
        {
            var syn = Path.Combine(dir.FullName, "english.synsets");
            var exc = Path.Combine(dir.FullName, "english.exceptions");
            File.WriteAllLines(syn, ["plane", "11 12", "airplane", "12"]);
            File.WriteAllLines(exc, ["be", "is are"]);
            var dict = WordNetSynonymDictionary.Load(syn, exc);
            dict.SynsetsOf("airplane").Overlaps(dict.SynsetsOf("plane")).Should().BeTrue();

            File.WriteAllLines(syn, ["plane", "11 x"]);
            var act = () => WordNetSynonymDictionary.Load(syn, exc);
            act.Should().Throw<FormatException>().WithMessage("*english.synsets, line 2*'x'*");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Paraphrase_module_matches_single_and_multi_word_phrases()
    {
        var table = MeteorParaphraseTable.FromPairs([("children", "kids"), ("many", "a lot of")]);
        var scorer = new MeteorScorer(new MeteorOptions
        {
            Modules = [MeteorModule.Exact, MeteorModule.Stem, MeteorModule.Paraphrase],
            Paraphrases = table,
        });

        // "the kids play" vs "the children play": the, play exact; kids↔children paraphrase (weight 0.6).
        // Weighted length 0.75·2 + 0.25·1 = 1.75 each side; matches 0.75 + 0.6·0.75 + 0.25 = 1.45.
        // Everything matched in one chunk: score = fMean = 1.45 / 1.75.
        scorer.ScorePair("the kids play", "the children play").Score.Should().BeApproximately(1.45 / 1.75, 1e-15);

        // "a lot of trees" vs "many trees": many ↔ "a lot of" (1 reference word, 3 test words), trees exact.
        // Test: length 4, function words a, of → weighted length 2.0; matches 0.6·0.75 (lot) + 0.75 (trees)
        // + 2·0.6·0.25 (a, of) = 1.5 → P = 0.75. Reference: weighted length 1.5, matches 0.45 + 0.75 = 1.2 →
        // R = 0.8. One chunk, all matched: score = 1 / (0.15/0.75 + 0.85/0.8) = 1 / 1.2625.
        var s = scorer.ScorePair("a lot of trees", "many trees");
        s.Alignment!.Matches[0].Should().Be(new MeteorMatch(0, 1, 0, 3, 2));
        s.Score.Should().BeApproximately(1 / 1.2625, 1e-15);
    }

    [Fact]
    public void Paraphrase_table_loads_meteors_gzip_layout()
    {
        var dir = Directory.CreateTempSubdirectory("spatialnet-para-");
        try
        {
            var path = Path.Combine(dir.FullName, "paraphrase-en.gz");
            using (var gz = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest))
            using (var w = new StreamWriter(gz))
            {
                w.Write("0.5\nchildren\nkids\n0.2\nmany\na lot of\n");
            }

            MeteorParaphraseTable.Load(path).Count.Should().Be(2);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Coco_wrapper_emulation_strips_separators_from_the_candidate_and_splits_references()
    {
        // The candidate "a cat ||| sat" becomes "a cat  sat" → "a cat sat"; the reference "x ||| a cat sat"
        // becomes two references, the second identical to the candidate → score 1.
        var segment = new MeteorScorer().ScoreSegment("a cat ||| sat", ["x ||| a cat sat"]);
        segment.PerReference.Should().HaveCount(2);
        segment.BestReferenceIndex.Should().Be(1);
        segment.Score.Should().Be(1.0);

        var plain = new MeteorScorer(new MeteorOptions { EmulateCocoWrapper = false }).ScoreSegment("a cat ||| sat", ["x ||| a cat sat"]);
        plain.PerReference.Should().HaveCount(1);
        plain.Best.Alignment!.TestTokens.Should().Equal("a", "cat", "|", "|", "|", "sat");
    }

    [Fact]
    public void Synonym_module_without_a_source_is_rejected_with_the_option_named()
    {
        var act = () => new MeteorScorer(new MeteorOptions { Modules = [MeteorModule.Exact, MeteorModule.Synonym] });
        act.Should().Throw<ArgumentException>().WithMessage("*MeteorOptions.Synonyms*");
    }
}
