namespace SpatialNet.Training.Metrics.Captioning;

/// <summary>
/// Tokenisation helpers for caption metrics: the whitespace rule the COCO caption scorers use
/// (Python's <c>str.split()</c>), and a simple normaliser for raw text.
/// </summary>
internal static class CaptionTokenizer
{
    /// <summary>The punctuation the simple tokeniser deletes.</summary>
    public const string SimplePunctuation = ".,!?;:";

    /// <summary>
    /// The "simple" tokenisation of the public reference vectors: lowercase (invariant), delete every
    /// character of <c>.,!?;:</c>, split on whitespace and join the tokens with single spaces.
    /// </summary>
    /// <param name="text">Raw caption text.</param>
    /// <returns>The tokens joined by single spaces (empty for a caption with no tokens).</returns>
    public static string Simple(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var kept = new System.Text.StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant())
        {
            if (SimplePunctuation.IndexOf(c, StringComparison.Ordinal) < 0)
            {
                kept.Append(c);
            }
        }

        return string.Join(' ', SplitWhitespace(kept.ToString()));
    }

    /// <summary>
    /// Splits on runs of whitespace exactly as Python's <c>str.split()</c> with no argument does
    /// (the rule BLEU and CIDEr use), dropping empty tokens at either end.
    /// </summary>
    /// <param name="text">Tokenised caption text.</param>
    /// <returns>The tokens.</returns>
    public static string[] SplitWhitespace(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && IsPythonWhitespace(text[i]))
            {
                i++;
            }

            int start = i;
            while (i < text.Length && !IsPythonWhitespace(text[i]))
            {
                i++;
            }

            if (i > start)
            {
                tokens.Add(text[start..i]);
            }
        }

        return [.. tokens];
    }

    /// <summary>
    /// Splits on single spaces as Python's <c>str.split(" ")</c> does (the rule ROUGE-L uses): every
    /// space separates, so <c>""</c> gives one empty token and two spaces give an empty token between.
    /// </summary>
    /// <param name="text">Tokenised caption text.</param>
    /// <returns>The tokens, possibly including empty ones.</returns>
    public static string[] SplitSingleSpace(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Split(' ');
    }

    /// <summary>Whether Python's <c>str.isspace()</c> holds for the character.</summary>
    /// <param name="c">The character.</param>
    /// <returns>True for the characters Python's <c>str.split()</c> splits on.</returns>
    public static bool IsPythonWhitespace(char c) => c switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' => true,
        '\u001C' or '\u001D' or '\u001E' or '\u001F' => true,
        '\u0085' or '\u00A0' or '\u1680' => true,
        >= '\u2000' and <= '\u200A' => true,
        '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' => true,
        _ => false,
    };
}
