using System.CommandLine;
using System.CommandLine.Parsing;

namespace SpatialNet.Cli.Hosting;

/// <summary>
/// How the tool reports a command line it cannot parse (exit code 2); the benchmarks and samples link
/// this file, so every program of the repository answers a bad command line the same way.
/// </summary>
internal static class CommandLineErrors
{
    /// <summary>
    /// One "spatialnet: …" line per error and where to get help; exit code 2. A misspelt word is named
    /// with the nearest names; what follows from it (its value, the required option or command it was
    /// meant to be) is not reported again.
    /// </summary>
    public static int Report(ParseResult parse, TextWriter error, string program)
    {
        var command = parse.CommandResult.Command;
        var meant = new HashSet<Symbol>();
        bool unknownCommand = false;
        var tokens = parse.Tokens.ToList();
        foreach (var token in parse.UnmatchedTokens)
        {
            bool option = LooksLikeOption(token);
            int at = tokens.FindIndex(t => t.Value == token && t.Type == TokenType.Argument);
            if (!option && at > 0 && tokens[at - 1] is { Type: TokenType.Argument } before && LooksLikeOption(before.Value))
                continue;   // the value of the unknown option before it
            var near = Nearest(token, option ? Options(command) : command.Subcommands.Cast<Symbol>());
            meant.UnionWith(near);
            unknownCommand |= !option && command.Subcommands.Count > 0;
            var what = option ? "option" : command.Subcommands.Count > 0 ? "command" : "argument";
            error.WriteLine($"{program}: {Unknown(what, token, near)}");
        }
        foreach (var e in parse.Errors)
        {
            bool reported = e.SymbolResult is CommandResult c
                && (parse.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal))
                    || (unknownCommand && c.Command.Subcommands.Count > 0));   // "required command" after an unknown one
            if (reported || (e.SymbolResult is OptionResult o && meant.Contains(o.Option)))
                continue;
            error.WriteLine($"{program}: {Plain(e)}");
        }
        error.WriteLine($"Run '{string.Join(' ', Path(command, program))} --help' for usage.");
        return ExitCodes.Usage;
    }

    /// <summary>
    /// A parse error in the user's words: a value of the wrong type says what the option takes
    /// ("option '--epochs': 'abc' is not a whole number") instead of naming a .NET type.
    /// </summary>
    public static string Plain(ParseError error)
    {
        if (error.SymbolResult is OptionResult { Option: var option } && option.ValueType is var type
            && error.Message.StartsWith("Cannot parse argument '", StringComparison.Ordinal))
        {
            var start = "Cannot parse argument '".Length;
            var end = error.Message.IndexOf("' for ", start, StringComparison.Ordinal);
            var value = end > start ? error.Message[start..end] : "";
            var t = Nullable.GetUnderlyingType(type) ?? type;
            var takes = t == typeof(int) || t == typeof(long) || t == typeof(uint) || t == typeof(ulong) ? "a whole number"
                : t == typeof(double) || t == typeof(float) ? "a number"
                : t == typeof(bool) ? "true or false"
                : null;
            if (takes is not null)
                return $"option '{option.Name}': '{value}' is not {takes}";
        }
        return error.Message;
    }

    /// <summary>"unknown option '--epoch'; did you mean '--epochs'?"</summary>
    public static string Unknown(string what, string word, IReadOnlyCollection<Symbol> near) =>
        $"unknown {what} '{word}'" + (near.Count > 0 ? $"; did you mean {string.Join(" or ", near.Select(n => $"'{n.Name}'"))}?" : "");

    /// <summary>Whether <paramref name="token"/> is written as an option (not a negative number).</summary>
    public static bool LooksLikeOption(string token) => token.Length > 1 && token[0] == '-' && !char.IsAsciiDigit(token[1]) && token[1] != '.';

    /// <summary>The options given on <paramref name="command"/>: its own and the recursive ones of its parents.</summary>
    public static IEnumerable<Option> Options(Command command)
    {
        var options = command.Options.ToList();
        for (var parent = command.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
            options.AddRange(parent.Options.Where(o => o.Recursive));
        return options;
    }

    /// <summary>The symbols with a name or alias nearest to <paramref name="word"/> (at most two edits, transpositions included).</summary>
    public static List<Symbol> Nearest(string word, IEnumerable<Symbol> symbols)
    {
        if (word.TrimStart('-').Length < 3)
            return [];   // "-x" is one edit from every short alias
        var scored = symbols
            .Select(s => (Symbol: s, Distance: Names(s).Min(n => EditDistance(word, n))))
            .Where(x => x.Distance <= Math.Min(2, Math.Max(1, word.TrimStart('-').Length / 3)))
            .ToList();
        return scored.Count == 0 ? [] : [.. scored.Where(x => x.Distance == scored.Min(y => y.Distance)).Select(x => x.Symbol).Take(3)];

        static IEnumerable<string> Names(Symbol s) => s switch
        {
            Option o => [o.Name, .. o.Aliases],
            Command c => [c.Name, .. c.Aliases],
            _ => [s.Name],
        };
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    public static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }

    private static List<string> Path(Command command, string program)
    {
        var names = new List<string>();
        for (Symbol? s = command; s is not null; s = s.Parents.FirstOrDefault())
            names.Insert(0, s is RootCommand ? program : s.Name);
        return names;
    }
}
