using System.Text;

namespace SpatialNet.Training.Metrics.Meteor;

/// <summary>
/// The Snowball English ("Porter2") stemmer (M. F. Porter, snowballstem.org), the stemmer Meteor 1.5
/// uses for its <c>stem</c> module. Written from the published algorithm: exceptional forms, the R1/R2
/// regions (with the gener/commun/arsen prefixes), steps 0–5 with longest-suffix matching, and the
/// initial-apostrophe and consonant-y handling. Words of fewer than three characters are unchanged.
/// </summary>
internal static class SnowballEnglishStemmer
{
    private static readonly Dictionary<string, string> Exceptions1 = new(StringComparer.Ordinal)
    {
        ["skis"] = "ski", ["skies"] = "sky", ["dying"] = "die", ["lying"] = "lie", ["tying"] = "tie",
        ["idly"] = "idl", ["gently"] = "gentl", ["ugly"] = "ugli", ["early"] = "earli", ["only"] = "onli",
        ["singly"] = "singl", ["sky"] = "sky", ["news"] = "news", ["howe"] = "howe", ["atlas"] = "atlas",
        ["cosmos"] = "cosmos", ["bias"] = "bias", ["andes"] = "andes",
    };

    // Words left alone once step 1a has run.
    private static readonly HashSet<string> Exceptions2 = new(StringComparer.Ordinal)
    {
        "inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed",
    };

    private static readonly string[] RegionPrefixes = ["gener", "commun", "arsen"];

    private static readonly (string Suffix, string Replacement)[] Step2Rules =
    [
        ("ization", "ize"), ("ational", "ate"), ("fulness", "ful"), ("ousness", "ous"), ("iveness", "ive"),
        ("tional", "tion"), ("biliti", "ble"), ("lessli", "less"),
        ("entli", "ent"), ("ation", "ate"), ("alism", "al"), ("aliti", "al"), ("ousli", "ous"), ("iviti", "ive"), ("fulli", "ful"),
        ("enci", "ence"), ("anci", "ance"), ("abli", "able"), ("izer", "ize"), ("ator", "ate"), ("alli", "al"),
        ("bli", "ble"), ("ogi", "og"), ("li", ""),
    ];

    private static readonly (string Suffix, string Replacement)[] Step3Rules =
    [
        ("ational", "ate"), ("tional", "tion"), ("alize", "al"), ("icate", "ic"), ("iciti", "ic"), ("ative", ""),
        ("ical", "ic"), ("ness", ""), ("ful", ""),
    ];

    private static readonly string[] Step4Suffixes =
    [
        "ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ism", "ate", "iti", "ous", "ive", "ize", "ion",
        "al", "er", "ic",
    ];

    /// <summary>Stems one lowercase word.</summary>
    /// <param name="word">The word (Meteor passes lowercased tokens).</param>
    /// <returns>Its stem.</returns>
    public static string Stem(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (Exceptions1.TryGetValue(word, out var special))
        {
            return special;
        }

        if (word.Length < 3)
        {
            return word;
        }

        var w = new StringBuilder(word);

        // Prelude: drop a leading apostrophe; mark consonant-y (initial y, or y after a vowel) as Y.
        if (w[0] == '\'')
        {
            w.Remove(0, 1);
        }

        bool yFound = false;
        for (int i = 0; i < w.Length; i++)
        {
            if (w[i] == 'y' && (i == 0 || IsVowel(w[i - 1])))
            {
                w[i] = 'Y';
                yFound = true;
            }
        }

        var (p1, p2) = MarkRegions(w);

        Step1a(w);
        if (!Exceptions2.Contains(w.ToString()))
        {
            Step1b(w, p1);
            Step1c(w);
            Step2(w, p1);
            Step3(w, p1, p2);
            Step4(w, p2);
            Step5(w, p1, p2);
        }

        if (yFound)
        {
            w.Replace('Y', 'y');
        }

        return w.ToString();
    }

    private static bool IsVowel(char c) => c is 'a' or 'e' or 'i' or 'o' or 'u' or 'y';

    private static bool IsDouble(StringBuilder w) =>
        w.Length >= 2 && w[^1] == w[^2] && w[^1] is 'b' or 'd' or 'f' or 'g' or 'm' or 'n' or 'p' or 'r' or 't';

    private static bool IsValidLiEnding(char c) => c is 'c' or 'd' or 'e' or 'g' or 'h' or 'k' or 'm' or 'n' or 'r' or 't';

    private static bool EndsWith(StringBuilder w, string suffix)
    {
        if (w.Length < suffix.Length)
        {
            return false;
        }

        int start = w.Length - suffix.Length;
        for (int i = 0; i < suffix.Length; i++)
        {
            if (w[start + i] != suffix[i])
            {
                return false;
            }
        }

        return true;
    }

    private static void ReplaceSuffix(StringBuilder w, int suffixLength, string replacement)
    {
        w.Length -= suffixLength;
        w.Append(replacement);
    }

    private static bool HasVowel(StringBuilder w, int end)
    {
        for (int i = 0; i < end; i++)
        {
            if (IsVowel(w[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>R1: after the first non-vowel following a vowel (or after a listed prefix); R2: the same inside R1.</summary>
    private static (int P1, int P2) MarkRegions(StringBuilder w)
    {
        int n = w.Length;
        int p1 = -1;
        foreach (var prefix in RegionPrefixes)
        {
            if (w.Length >= prefix.Length && w.ToString(0, prefix.Length) == prefix)
            {
                p1 = prefix.Length;
                break;
            }
        }

        if (p1 < 0)
        {
            p1 = AfterVowelNonVowel(w, 0);
            if (p1 < 0)
            {
                return (n, n);
            }
        }

        int p2 = AfterVowelNonVowel(w, p1);
        return (p1, p2 < 0 ? n : p2);
    }

    private static int AfterVowelNonVowel(StringBuilder w, int from)
    {
        int i = from;
        while (i < w.Length && !IsVowel(w[i]))
        {
            i++;
        }

        if (i >= w.Length)
        {
            return -1;
        }

        i++;
        while (i < w.Length && IsVowel(w[i]))
        {
            i++;
        }

        return i >= w.Length ? -1 : i + 1;
    }

    /// <summary>A short syllable ends just before <paramref name="end"/>.</summary>
    private static bool ShortSyllableBefore(StringBuilder w, int end)
    {
        if (end >= 3)
        {
            char last = w[end - 1];
            if (!IsVowel(last) && last is not ('w' or 'x' or 'Y') && IsVowel(w[end - 2]) && !IsVowel(w[end - 3]))
            {
                return true;
            }
        }

        return end == 2 && !IsVowel(w[1]) && IsVowel(w[0]);
    }

    private static void Step1a(StringBuilder w)
    {
        // Step 0: the longest of ' 's 's' is removed.
        if (EndsWith(w, "'s'"))
        {
            w.Length -= 3;
        }
        else if (EndsWith(w, "'s"))
        {
            w.Length -= 2;
        }
        else if (EndsWith(w, "'"))
        {
            w.Length -= 1;
        }

        if (EndsWith(w, "sses"))
        {
            ReplaceSuffix(w, 4, "ss");
        }
        else if (EndsWith(w, "ied") || EndsWith(w, "ies"))
        {
            ReplaceSuffix(w, 3, w.Length - 3 >= 2 ? "i" : "ie");
        }
        else if (EndsWith(w, "us") || EndsWith(w, "ss"))
        {
            // unchanged
        }
        else if (EndsWith(w, "s"))
        {
            // Delete if the part before the s has a vowel that is not the letter right before it.
            if (w.Length >= 2 && HasVowel(w, w.Length - 2))
            {
                w.Length -= 1;
            }
        }
    }

    private static void Step1b(StringBuilder w, int p1)
    {
        string? suffix = null;
        foreach (var s in new[] { "eedly", "ingly", "edly", "eed", "ing", "ed" })
        {
            if (EndsWith(w, s))
            {
                suffix = s;
                break;
            }
        }

        if (suffix is null)
        {
            return;
        }

        int start = w.Length - suffix.Length;
        if (suffix is "eed" or "eedly")
        {
            if (start >= p1)
            {
                ReplaceSuffix(w, suffix.Length, "ee");
            }

            return;
        }

        if (!HasVowel(w, start))
        {
            return;
        }

        w.Length = start;
        if (EndsWith(w, "at") || EndsWith(w, "bl") || EndsWith(w, "iz"))
        {
            w.Append('e');
        }
        else if (IsDouble(w))
        {
            w.Length -= 1;
        }
        else if (w.Length == p1 && ShortSyllableBefore(w, w.Length))
        {
            // The word is short: it ends in a short syllable and R1 is empty.
            w.Append('e');
        }
    }

    private static void Step1c(StringBuilder w)
    {
        int n = w.Length;
        if (n >= 3 && (w[n - 1] == 'y' || w[n - 1] == 'Y') && !IsVowel(w[n - 2]))
        {
            w[n - 1] = 'i';
        }
    }

    private static void Step2(StringBuilder w, int p1)
    {
        foreach (var (suffix, replacement) in Step2Rules)
        {
            if (!EndsWith(w, suffix))
            {
                continue;
            }

            int start = w.Length - suffix.Length;
            if (start < p1)
            {
                return;
            }

            if (suffix == "ogi")
            {
                if (start >= 1 && w[start - 1] == 'l')
                {
                    ReplaceSuffix(w, 3, replacement);
                }
            }
            else if (suffix == "li")
            {
                if (start >= 1 && IsValidLiEnding(w[start - 1]))
                {
                    w.Length = start;
                }
            }
            else
            {
                ReplaceSuffix(w, suffix.Length, replacement);
            }

            return;
        }
    }

    private static void Step3(StringBuilder w, int p1, int p2)
    {
        foreach (var (suffix, replacement) in Step3Rules)
        {
            if (!EndsWith(w, suffix))
            {
                continue;
            }

            int start = w.Length - suffix.Length;
            if (start < p1)
            {
                return;
            }

            if (suffix == "ative")
            {
                if (start >= p2)
                {
                    w.Length = start;
                }
            }
            else
            {
                ReplaceSuffix(w, suffix.Length, replacement);
            }

            return;
        }
    }

    private static void Step4(StringBuilder w, int p2)
    {
        foreach (var suffix in Step4Suffixes)
        {
            if (!EndsWith(w, suffix))
            {
                continue;
            }

            int start = w.Length - suffix.Length;
            if (start < p2)
            {
                return;
            }

            if (suffix == "ion")
            {
                if (start >= 1 && w[start - 1] is 's' or 't')
                {
                    w.Length = start;
                }
            }
            else
            {
                w.Length = start;
            }

            return;
        }
    }

    private static void Step5(StringBuilder w, int p1, int p2)
    {
        int start = w.Length - 1;
        if (start < 0)
        {
            return;
        }

        if (w[start] == 'e')
        {
            if (start >= p2 || (start >= p1 && !ShortSyllableBefore(w, start)))
            {
                w.Length = start;
            }
        }
        else if (w[start] == 'l')
        {
            if (start >= p2 && start >= 1 && w[start - 1] == 'l')
            {
                w.Length = start;
            }
        }
    }
}
