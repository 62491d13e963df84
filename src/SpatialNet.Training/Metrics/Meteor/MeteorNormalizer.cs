using System.Text;
using System.Text.RegularExpressions;

namespace SpatialNet.Training.Metrics.Meteor;

/// <summary>
/// Meteor 1.5's English text normalisation (<c>-norm</c>), reproduced rule by rule: punctuation split
/// off, multiple dots kept as one token, commas split except inside numbers, quotes and dashes
/// unified, intra-word dashes removed, English contractions split to the right, sentence-final dots
/// split unless the word is a non-breaking prefix, whitespace collapsed, then lowercased. Regular
/// expressions use explicit ASCII classes where Java's default <c>\p{Digit}</c>, <c>\p{Lower}</c> and
/// <c>\s</c> are ASCII-only.
/// </summary>
internal static class MeteorNormalizer
{
    // Letters Meteor treats as alphabetic: ASCII, Latin-1 and Latin Extended-A letters, Cyrillic ranges.
    private const string Alpha = "A-Za-z\u0160\u017D\u0161\u017E\u0178\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u017E"
        + "\u0400-\u04FF\u0500-\u0527\uA640-\uA66E\uA67E-\uA697\u1D00-\u1D7F";

    private const string Alnum = "0-9" + Alpha;

    // A supplementary character is one code point in Java's regex engine; keep its surrogates together.
    private const string Pair = "[\uD800-\uDBFF][\uDC00-\uDFFF]";

    private static readonly Regex SeparateOther = new("(" + Pair + "|[^" + Alnum + " \t\n\u000B\f\r.'`,\\-\u2018\u2019])", RegexOptions.CultureInvariant);
    private static readonly Regex MultiDot = new("\\.(\\.+)", RegexOptions.CultureInvariant);
    private static readonly Regex MultiDotNext = new("DOTMULTI\\.(" + Pair + "|[^.])", RegexOptions.CultureInvariant);
    private static readonly Regex CommaBothNonDigit = new("(" + Pair + "|[^0-9]),(" + Pair + "|[^0-9])", RegexOptions.CultureInvariant);
    private static readonly Regex CommaDigitLeft = new("([0-9]),(" + Pair + "|[^0-9])", RegexOptions.CultureInvariant);
    private static readonly Regex CommaDigitRight = new("(" + Pair + "|[^0-9]),([0-9])", RegexOptions.CultureInvariant);
    private static readonly Regex SingleQuotes = new("[`\u2018\u2019]", RegexOptions.CultureInvariant);
    private static readonly Regex DoubleQuotes = new("[\u201C\u201D]|''", RegexOptions.CultureInvariant);
    private static readonly Regex InnerDash = new("([" + Alnum + ".])-([" + Alnum + "])", RegexOptions.CultureInvariant);
    private static readonly Regex ApostropheNonAlphaBoth = new("(" + Pair + "|[^" + Alpha + "])'(" + Pair + "|[^" + Alpha + "])", RegexOptions.CultureInvariant);
    private static readonly Regex ApostropheBeforeAlpha = new("(" + Pair + "|[^" + Alpha + "0-9])'([" + Alpha + "])", RegexOptions.CultureInvariant);
    private static readonly Regex ApostropheAfterAlpha = new("([" + Alpha + "])'(" + Pair + "|[^" + Alpha + "])", RegexOptions.CultureInvariant);
    private static readonly Regex ApostropheInside = new("([" + Alpha + "])'([" + Alpha + "])", RegexOptions.CultureInvariant);
    private static readonly Regex DigitApostropheS = new("([0-9])'(s)", RegexOptions.CultureInvariant);
    private static readonly Regex Letter = new("[" + Alpha + "]", RegexOptions.CultureInvariant);
    private static readonly Regex Whitespace = new("[ \u00A0\u2000-\u200A\u202F\u205F\u3000]+", RegexOptions.CultureInvariant);

    // Java's StringTokenizer default delimiters.
    private static readonly char[] TokenizerDelimiters = [' ', '\t', '\n', '\r', '\f'];

    private enum PrefixKind
    {
        Any,
        NumericOnly,
    }

    // Non-breaking prefixes of Meteor's English list: a following "." stays attached.
    private static readonly Dictionary<string, PrefixKind> NonBreakingPrefixes = BuildPrefixes();

    private static Dictionary<string, PrefixKind> BuildPrefixes()
    {
        var d = new Dictionary<string, PrefixKind>(StringComparer.Ordinal);
        for (char c = 'A'; c <= 'Z'; c++)
        {
            d[c.ToString()] = PrefixKind.Any;
        }

        foreach (var p in ("Adj Adm Adv Asst Bart Bldg Brig Bros Capt Cmdr Col Comdr Con Corp Cpl DR Dr Drs Ens Gen Gov Hon Hr Hosp "
            + "Insp Lt MM MR MRS MS Maj Messrs Mlle Mme Mr Mrs Ms Msgr Op Ord Pfc Ph Prof Pvt Rep Reps Res Rev Rt Sen Sens Sfc Sgt Sr "
            + "St Supt Surg v vs i.e rev e.g.").Split(' '))
        {
            d[p] = PrefixKind.Any;
        }

        foreach (var p in new[] { "No", "Nos", "Art", "Nr", "pp" })
        {
            d[p] = PrefixKind.NumericOnly;
        }

        return d;
    }

    /// <summary>Normalises and lowercases one line as Meteor's <c>-norm</c> option does.</summary>
    /// <param name="line">Raw text.</param>
    /// <returns>Space-separated normalised tokens.</returns>
    public static string Normalize(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        string s = " " + line + " ";

        // 1. Space out every character that is not alphanumeric, whitespace or one of . ' ` , - ‘ ’.
        s = SeparateOther.Replace(s, " $1 ");

        // 2. Escape runs of dots so they survive the dot rules below as one token.
        s = MultiDot.Replace(s, " DOTMULTI$1");
        while (s.Contains("DOTMULTI.", StringComparison.Ordinal))
        {
            s = MultiDotNext.Replace(s, "DOTDOTMULTI $1");
            s = s.Replace("DOTMULTI.", "DOTDOTMULTI", StringComparison.Ordinal);
        }

        // 3. Split commas unless both neighbours are digits.
        s = CommaBothNonDigit.Replace(s, "$1 , $2");
        s = CommaDigitLeft.Replace(s, "$1 , $2");
        s = CommaDigitRight.Replace(s, "$1 , $2");

        // 4. Quotes: ` ‘ ’ become ', and “ ” '' become a spaced ".
        s = SingleQuotes.Replace(s, "'");
        s = DoubleQuotes.Replace(s, " \" ");

        // 5. Dashes: en dash and double dash become a single dash.
        s = s.Replace("\u2013", "-", StringComparison.Ordinal).Replace("--", "-", StringComparison.Ordinal);

        // 6. A dash between alphanumerics (or after a dot) becomes a space, for partial credit.
        s = InnerDash.Replace(s, "$1 $2");

        // 7. English apostrophes: split off, contractions split to the right (it's → it 's), 1990's → 1990 's.
        s = ApostropheNonAlphaBoth.Replace(s, "$1 ' $2");
        s = ApostropheBeforeAlpha.Replace(s, "$1 ' $2");
        s = ApostropheAfterAlpha.Replace(s, "$1 ' $2");
        s = ApostropheInside.Replace(s, "$1 '$2");
        s = DigitApostropheS.Replace(s, "$1 '$2");

        // 8. Word-final dots: keep for non-breaking prefixes, drop inside abbreviations (U.S. → US), else split.
        var words = s.Split(TokenizerDelimiters, StringSplitOptions.RemoveEmptyEntries);
        var sb = new StringBuilder(s.Length + 8);
        for (int i = 0; i < words.Length; i++)
        {
            string word = words[i];
            if (word.Length > 1 && word.EndsWith('.'))
            {
                string pre = word[..^1];
                bool known = NonBreakingPrefixes.TryGetValue(pre, out var kind);
                bool hasNext = i < words.Length - 1;
                if (pre.Contains('.', StringComparison.Ordinal) && Letter.IsMatch(pre))
                {
                    sb.Append(word.Replace(".", string.Empty, StringComparison.Ordinal));
                }
                else if ((known && kind == PrefixKind.Any) || (hasNext && words[i + 1][0] is >= 'a' and <= 'z'))
                {
                    sb.Append(word);
                }
                else if (known && kind == PrefixKind.NumericOnly && hasNext && words[i + 1][0] is >= '0' and <= '9')
                {
                    sb.Append(word);
                }
                else
                {
                    sb.Append(pre).Append(" .");
                }
            }
            else
            {
                sb.Append(word);
            }

            sb.Append(' ');
        }

        s = sb.ToString();

        // Unescape the dot runs.
        while (s.Contains("DOTDOTMULTI", StringComparison.Ordinal))
        {
            s = s.Replace("DOTDOTMULTI", "DOTMULTI.", StringComparison.Ordinal);
        }

        s = s.Replace("DOTMULTI", ".", StringComparison.Ordinal);

        // 9. Collapse whitespace, trim, lowercase.
        s = JavaTrim(Whitespace.Replace(s, " "));
        return JavaLowerCase(s);
    }

    /// <summary>
    /// Lowercases as Java's <c>String.toLowerCase()</c> does for the characters where it differs from
    /// .NET's invariant lowercasing: U+0130 (İ) becomes "i" + U+0307 (combining dot above), and a capital
    /// sigma at the end of a word becomes final sigma (ς).
    /// </summary>
    /// <param name="s">The text.</param>
    /// <returns>The lowercased text.</returns>
    public static string JavaLowerCase(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.IndexOf('\u0130', StringComparison.Ordinal) < 0 && s.IndexOf('\u03A3', StringComparison.Ordinal) < 0)
        {
            return s.ToLowerInvariant();
        }

        var sb = new StringBuilder(s.Length + 4);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\u0130')
            {
                sb.Append("i\u0307");
            }
            else if (c == '\u03A3')
            {
                sb.Append(IsFinalSigma(s, i) ? '\u03C2' : '\u03C3');
            }
            else
            {
                sb.Append(char.ToLowerInvariant(c));
            }
        }

        return sb.ToString();
    }

    // Unicode's Final_Sigma condition: a cased letter before (skipping case-ignorable characters) and none after.
    private static bool IsFinalSigma(string s, int at)
    {
        int i = at - 1;
        while (i >= 0 && IsCaseIgnorable(s[i]))
        {
            i--;
        }

        if (i < 0 || !IsCased(s[i]))
        {
            return false;
        }

        int j = at + 1;
        while (j < s.Length && IsCaseIgnorable(s[j]))
        {
            j++;
        }

        return j >= s.Length || !IsCased(s[j]);
    }

    private static bool IsCased(char c) => char.IsUpper(c) || char.IsLower(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(char c) => c is '\'' or '.' or ':' or '\u00B7' or '\u2019'
        || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.EnclosingMark
            or System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.ModifierLetter or System.Globalization.UnicodeCategory.ModifierSymbol;

    /// <summary>Splits a normalised (or pre-tokenised) line into tokens as Meteor does (Java's StringTokenizer).</summary>
    /// <param name="line">The line.</param>
    /// <returns>The tokens.</returns>
    public static string[] Tokenize(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return line.Split(TokenizerDelimiters, StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Java's <c>String.trim()</c>: removes leading and trailing characters up to U+0020.</summary>
    /// <param name="s">The string.</param>
    /// <returns>The trimmed string.</returns>
    internal static string JavaTrim(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && s[start] <= ' ')
        {
            start++;
        }

        while (end > start && s[end - 1] <= ' ')
        {
            end--;
        }

        return s[start..end];
    }
}
