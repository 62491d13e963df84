using FluentAssertions;
using SpatialNet.Training.Data;
using SpatialNet.Training.Tests.Support;
using SpatialNet.Training.Text;
using Xunit;

namespace SpatialNet.Training.Tests.Text;

public sealed class TextTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Tokenizer_splits_words_drops_punctuation_and_lowercases()
    {
        var tokenizer = new WordTokenizer();

        tokenizer.Tokenize("Is there a  forest in the image?").Should().Equal("is", "there", "a", "forest", "in", "the", "image");
        tokenizer.Tokenize("There is a tree-lined road , it's long .").Should().Equal("there", "is", "a", "tree-lined", "road", "it's", "long");
        tokenizer.Tokenize("What is the number of 10m2 areas").Should().Equal("what", "is", "the", "number", "of", "10m2", "areas");
        tokenizer.Tokenize("  ").Should().BeEmpty();
    }

    [Fact]
    public void Tokenizer_can_keep_case_and_punctuation()
    {
        new WordTokenizer { Lowercase = false, KeepPunctuation = true }.Tokenize("Many trees, one road.")
            .Should().Equal("Many", "trees", ",", "one", "road", ".");
    }

    [Fact]
    public void Vocabulary_puts_specials_first_then_words_by_frequency_then_ordinal()
    {
        var vocabulary = Vocabulary.Build([["b", "a", "c"], ["a", "c"], ["a"]]);

        vocabulary.Tokens.Should().Equal("<pad>", "<bos>", "<eos>", "<unk>", "a", "c", "b");
        vocabulary.IdOf("c").Should().Be(5);
        vocabulary.IdOf("zebra").Should().Be(Vocabulary.UnkId);
        Vocabulary.Build([["b", "a", "c"], ["a", "c"], ["a"]], minCount: 2).Tokens.Should().Equal("<pad>", "<bos>", "<eos>", "<unk>", "a", "c");
        Vocabulary.Build([["b", "a", "c"], ["a", "c"], ["a"]], maxSize: 5).Tokens.Should().Equal("<pad>", "<bos>", "<eos>", "<unk>", "a");
    }

    [Fact]
    public void Encoder_adds_bos_and_eos_truncates_keeping_eos_and_decodes_back()
    {
        var encoder = TextEncoder.Build(["a red roof", "a blue lake"], new WordTokenizer(), maxLength: 5, addBos: true, addEos: true);
        // Ids: a=4 (twice), then blue, lake, red, roof by ordinal order.
        encoder.Vocabulary.Tokens.Skip(4).Should().Equal("a", "blue", "lake", "red", "roof");

        encoder.Encode("A red roof").Should().Equal(1, 4, 7, 8, 2);
        encoder.Encode("a red roof near a lake").Should().Equal(1, 4, 7, 8, 2);
        encoder.Encode("a green roof").Should().Equal(1, 4, 3, 8, 2);
        encoder.Decode([1, 4, 7, 8, 2, 0, 0]).Should().Be("a red roof");
        encoder.Decode([1, 4, 2, 7]).Should().Be("a");
        encoder.EncodeTokens(["A", "", "roof"]).Should().Equal(1, 4, 8, 2);
    }

    [Fact]
    public void Encoder_round_trips_through_json()
    {
        var encoder = TextEncoder.Build(["Is there a road?", "How many roads are there?"], new WordTokenizer(), maxLength: 12);
        var path = _dir.Combine("questions.json");
        encoder.Save(path);

        var loaded = TextEncoder.Load(path);

        loaded.Vocabulary.Tokens.Should().Equal(encoder.Vocabulary.Tokens);
        (loaded.MaxLength, loaded.AddBos, loaded.AddEos).Should().Be((12, false, false));
        loaded.Tokenizer.Should().Be(encoder.Tokenizer);
        loaded.Encode("how many roads").Should().Equal(encoder.Encode("how many roads"));
    }

    [Fact]
    public void Loading_a_broken_encoder_names_the_field()
    {
        var path = _dir.Combine("bad.json");
        File.WriteAllText(path, """{"format":"spatialnet.text-encoder/1","tokenizer":{"lowercase":true,"keep_punctuation":false},"max_length":8,"add_bos":false,"add_eos":false,"tokens":["<pad>","<unk>"]}""");

        var error = FluentActions.Invoking(() => TextEncoder.Load(path)).Should().Throw<DatasetFormatException>().Which;

        error.FilePath.Should().Be(path);
        error.Field.Should().Be("tokens");

        File.WriteAllText(path, "{\"format\": ");
        FluentActions.Invoking(() => TextEncoder.Load(path)).Should().Throw<DatasetFormatException>().Which.FilePath.Should().Be(path);
    }

    [Fact]
    public void Answer_vocabulary_round_trips_and_marks_unknown_answers_ignored()
    {
        var answers = AnswerVocabulary.Build(["no", "yes", "yes", "rural"]);
        var path = _dir.Combine("answers.json");
        answers.Save(path);

        var loaded = AnswerVocabulary.Load(path);

        loaded.Answers.Should().Equal("yes", "no", "rural");
        loaded.Encode("rural").Should().Be(2);
        loaded.Encode("urban").Should().Be(-100);
        loaded.Decode(1).Should().Be("no");
    }
}
