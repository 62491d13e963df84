using SpatialNet.Heads;

namespace SpatialNet.Training.Text;

/// <summary>
/// Sets the text settings of the multimodal heads from the data's encoders, so the ids a dataset
/// produces and the ids a head reads, generates and ignores are the same: vocabulary size, longest
/// sequence, and the padding, start and end ids of <see cref="Vocabulary"/>.
/// </summary>
internal static class TextHeadConfiguration
{
    /// <summary>
    /// Configures a caption head for captions encoded by <paramref name="encoder"/>: <c>VocabSize</c> =
    /// the vocabulary size, <c>MaxLength</c> = the encoder's (start and end tokens included),
    /// <c>PadId</c>/<c>BosId</c>/<c>EosId</c> = the vocabulary's special ids (0/1/2; the batch collator
    /// pads with 0).
    /// </summary>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    /// <exception cref="ArgumentException">The encoder does not add the start and end tokens a caption decoder needs.</exception>
    public static CaptionHeadOptions ConfigureCaptionHead(this TextEncoder encoder, CaptionHeadOptions options)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(options);
        if (!encoder.AddBos || !encoder.AddEos)
            throw new ArgumentException(
                $"A caption encoder must add <bos> and <eos> (teacher forcing reads <bos> first; generation stops at <eos>); this one has AddBos = {encoder.AddBos}, AddEos = {encoder.AddEos}.",
                nameof(encoder));
        options.VocabSize = encoder.Vocabulary.Count;
        options.MaxLength = encoder.MaxLength;
        options.PadId = Vocabulary.PadId;
        options.BosId = Vocabulary.BosId;
        options.EosId = Vocabulary.EosId;
        return options;
    }

    /// <summary>
    /// Configures a VQA head for questions encoded by <paramref name="questions"/> and answers indexed
    /// by <paramref name="answers"/>: <c>VocabSize</c>, <c>MaxLength</c>, <c>PadId</c> and <c>NumAnswers</c>,
    /// with the answer vocabulary's "no answer" index as <c>IgnoreIndex</c>.
    /// </summary>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    public static VqaHeadOptions ConfigureVqaHead(this TextEncoder questions, AnswerVocabulary answers, VqaHeadOptions options)
    {
        ArgumentNullException.ThrowIfNull(questions);
        ArgumentNullException.ThrowIfNull(answers);
        ArgumentNullException.ThrowIfNull(options);
        options.VocabSize = questions.Vocabulary.Count;
        options.MaxLength = questions.MaxLength;
        options.PadId = Vocabulary.PadId;
        options.NumAnswers = answers.Count;
        options.IgnoreIndex = AnswerVocabulary.IgnoreIndex;
        return options;
    }
}
