using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using SpatialNet.Cli.Commands;
using SpatialNet.Cli.Hosting;

namespace SpatialNet.Cli;

/// <summary>Entry point of the <c>spatialnet</c> tool, callable in-process (tests use it).</summary>
/// <remarks>
/// Exit codes: 0 success, 1 error in the input or the run, 2 bad command line, 130 interrupted.
/// Results go to <c>output</c>; logs, progress and errors to <c>error</c>.
/// </remarks>
public static class Cli
{
    /// <summary>The command tree: one command per file under <c>Commands/</c>.</summary>
    internal static RootCommand CreateRootCommand() =>
    [
        TrainCommand.Create(),
        EvaluateCommand.Create(),
        SyntheticCommand.Create(),
        MetricsCommand.Create(),
        WeightsCommand.Create(),
        PredictCommand.Create(),
        AskCommand.Create(),
        CaptionCommand.Create(),
        ExportCommand.Create(),
    ];

    /// <summary>Runs the tool; returns the process exit code.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where results go (standard output).</param>
    /// <param name="error">Where logs, progress and errors go (standard error).</param>
    /// <param name="cancellationToken">Cancelled to interrupt a running command (Ctrl+C).</param>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var root = CreateRootCommand();
        root.Description = "spatialnet — multi-task remote-sensing models on TorchSharp.\n"
            + "Exit codes: 0 success, 1 error in the input or the run, 2 bad command line, 130 interrupted.";
        root.HelpName = "spatialnet";
        var verbose = new Option<bool>("--verbose") { Description = "With an error, show stack traces (and libtorch's C++ frames).", Recursive = true };
        root.Options.Add(verbose);
        // The tool's own version, also when it runs in-process (a test host is the entry assembly then).
        foreach (var version in root.Options.OfType<VersionOption>())
            version.Action = new VersionAction();
        var parse = root.Parse(args);
        // Signals are handled by the caller (Program), which owns the token; the parser must not exit on its own.
        var invocation = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        if (parse.Errors.Count > 0)
            return ReportParseErrors(parse, error);
        try
        {
            return parse.InvokeAsync(invocation, cancellationToken).GetAwaiter().GetResult();
        }
        catch (UsageException ex)
        {
            error.WriteLine($"spatialnet: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine("spatialnet: interrupted");
            return ExitCodes.Interrupted;
        }
        catch (Exception ex)
        {
            // One boundary: a typed message naming what is at fault, no stack trace unless --verbose.
            error.WriteLine($"spatialnet: {SpatialNet.ErrorBoundary.Describe(ex, parse.GetValue(verbose))}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>
    /// One "spatialnet: …" line per error and where to get help; exit code 2. A misspelt word is named
    /// with the nearest names; what follows from it (its value, the required option or command it was
    /// meant to be) is not reported again.
    /// </summary>
    private static int ReportParseErrors(ParseResult parse, TextWriter error)
    {
        var command = parse.CommandResult.Command;
        var meant = new HashSet<Symbol>();
        bool unknownCommand = false;
        string? previous = null;
        foreach (var token in parse.UnmatchedTokens)
        {
            bool option = LooksLikeOption(token);
            if (!option && previous is not null && LooksLikeOption(previous))
            {
                previous = token;   // the value of the unknown option before it
                continue;
            }
            previous = token;
            var near = Nearest(token, option ? Options(command) : command.Subcommands.Cast<Symbol>());
            meant.UnionWith(near);
            unknownCommand |= !option && command.Subcommands.Count > 0;
            var what = option ? "option" : command.Subcommands.Count > 0 ? "command" : "argument";
            var hint = near.Count > 0 ? $"; did you mean {string.Join(" or ", near.Select(n => $"'{n.Name}'"))}?" : "";
            error.WriteLine($"spatialnet: unknown {what} '{token}'{hint}");
        }
        foreach (var e in parse.Errors)
        {
            bool reported = e.SymbolResult is CommandResult c
                && (parse.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal))
                    || (unknownCommand && c.Command.Subcommands.Count > 0));   // "required command" after an unknown one
            if (reported || (e.SymbolResult is OptionResult o && meant.Contains(o.Option)))
                continue;
            error.WriteLine($"spatialnet: {e.Message}");
        }
        error.WriteLine($"Run '{string.Join(' ', Path(command))} --help' for usage.");
        return ExitCodes.Usage;
    }

    private static bool LooksLikeOption(string token) => token.Length > 1 && token[0] == '-' && !char.IsAsciiDigit(token[1]) && token[1] != '.';

    /// <summary>The options given on <paramref name="command"/>: its own and the recursive ones of its parents.</summary>
    private static IEnumerable<Option> Options(Command command)
    {
        var options = command.Options.ToList();
        for (var parent = command.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
            options.AddRange(parent.Options.Where(o => o.Recursive));
        return options;
    }

    /// <summary>The symbols with a name or alias nearest to <paramref name="word"/> (at most two edits, transpositions included).</summary>
    internal static List<Symbol> Nearest(string word, IEnumerable<Symbol> symbols)
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
    internal static int EditDistance(string a, string b)
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

    private static IEnumerable<string> Path(Command command)
    {
        var names = new List<string>();
        for (Symbol? s = command; s is not null; s = s.Parents.FirstOrDefault())
            names.Insert(0, s is RootCommand ? "spatialnet" : s.Name);
        return names;
    }

    /// <summary>Prints the tool's informational version (version+commit).</summary>
    private sealed class VersionAction : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var assembly = typeof(Cli).Assembly;
            var version = assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
                ?? assembly.GetName().Version?.ToString() ?? "unknown";
            parseResult.InvocationConfiguration.Output.WriteLine(version);
            return 0;
        }
    }
}
