using System.Text;

namespace SpatialNet.Training.Text;

/// <summary>
/// Splits text into words: a word is a run of letters and digits, with apostrophes and hyphens kept
/// when they join two such characters ("it's", "tree-lined"). Other characters separate words;
/// punctuation (.,?!;: and the like) is dropped unless <see cref="KeepPunctuation"/>, in which case
/// each punctuation character is its own token. Lower-cases by default (UCM-caption's tokens keep
/// case; RSVQA questions start with a capital).
/// </summary>
public sealed record WordTokenizer
{
    /// <summary>Lower-case every token (invariant culture). Default true.</summary>
    public bool Lowercase { get; init; } = true;

    /// <summary>Emit punctuation characters as tokens instead of dropping them. Default false.</summary>
    public bool KeepPunctuation { get; init; }

    /// <summary>The tokens of <paramref name="text"/>.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        var word = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (char.IsLetterOrDigit(ch))
            {
                word.Append(Lowercase ? char.ToLowerInvariant(ch) : ch);
                continue;
            }
            var joins = (ch is '\'' or '’' or '-') && word.Length > 0 && i + 1 < text.Length && char.IsLetterOrDigit(text[i + 1]);
            if (joins)
            {
                word.Append(ch == '’' ? '\'' : ch);
                continue;
            }
            Flush();
            if (KeepPunctuation && !char.IsWhiteSpace(ch) && !char.IsControl(ch)) tokens.Add(ch.ToString());
        }
        Flush();
        return tokens;

        void Flush()
        {
            if (word.Length == 0) return;
            tokens.Add(word.ToString());
            word.Clear();
        }
    }
}
