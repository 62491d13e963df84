// Shared by the samples (linked into each project): their command lines are parsed by System.CommandLine
// and a bad one is reported by the spatialnet tool's own reporter, as the tool and the benchmarks do.
using System.CommandLine;
using SpatialNet.Cli.Hosting;

/// <summary>The samples' <c>--name value</c> options.</summary>
internal static class Args
{
    /// <summary>
    /// The options given, by name without dashes (and the positional argument under <paramref name="positional"/>);
    /// null when the program should stop with <paramref name="exitCode"/>: after <c>--help</c> (0) or a bad command line (2, reported).
    /// </summary>
    public static Dictionary<string, string>? Parse(string[] args, string description, IReadOnlyList<string> options, out int exitCode,
        IReadOnlyCollection<string>? required = null, string? positional = null)
    {
        var root = new RootCommand(description);
        var named = options.ToDictionary(n => n, n => new Option<string>("--" + n) { Required = required?.Contains(n) == true });
        foreach (var o in named.Values)
            root.Options.Add(o);
        var argument = positional is null ? null : new Argument<string>(positional) { Arity = ArgumentArity.ZeroOrOne };
        if (argument is not null)
        {
            // An unknown option is no positional value.
            argument.Validators.Add(r =>
            {
                if (r.Tokens is [var token] && CommandLineErrors.LooksLikeOption(token.Value))
                    r.AddError(CommandLineErrors.Unknown("option", token.Value, CommandLineErrors.Nearest(token.Value, root.Options)));
            });
            root.Arguments.Add(argument);
        }
        var parse = root.Parse(args);
        exitCode = 0;
        if (parse.Errors.Count > 0)
        {
            exitCode = CommandLineErrors.Report(parse, Console.Error, System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "sample");
            return null;
        }
        if (parse.Action is not null)
        {
            exitCode = parse.Invoke();   // --help
            return null;
        }
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, option) in named)
        {
            if (parse.GetValue(option) is { } value)
                result[name] = value;
        }
        if (argument is not null && parse.GetValue(argument) is { } given)
            result[positional!] = given;
        return result;
    }
}
