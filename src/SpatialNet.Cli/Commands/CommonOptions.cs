using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SpatialNet.Cli.Commands;

/// <summary>Options and plumbing several commands share.</summary>
internal static class CommonOptions
{
    /// <summary>Indented JSON for results on standard output and in files.</summary>
    public static JsonSerializerOptions Indented { get; } = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><c>--json</c>: the result as one JSON document on standard output, for scripts.</summary>
    public static Option<bool> Json() => new("--json") { Description = "Write the result as JSON to standard output (for scripts)." };

    /// <summary><c>--set KEY=VALUE</c>, repeatable: configuration overrides applied after the file and the environment.</summary>
    public static Option<string[]> Set() => new("--set")
    {
        Description = "Override a configuration key by its path, repeatable: --set model:depth=2 --set data:sources:0:path=/data/x (docs/training.md).",
        HelpName = "KEY=VALUE",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary><c>--quiet</c>: warnings and errors only on standard error.</summary>
    public static Option<bool> Quiet() => new("--quiet", "-q") { Description = "Log warnings and errors only." };

    /// <summary>
    /// Refuses a number below <paramref name="min"/> given to <paramref name="option"/>. Reads the token, not the
    /// value: a word that is no number is the parser's error already, and reading its value would throw.
    /// </summary>
    public static T AtLeast<T>(this T option, long min, Func<long, string> message) where T : Option
    {
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && long.TryParse(r.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v < min)
                r.AddError(message(v));
        });
        return option;
    }

    /// <summary>
    /// Accepts only <paramref name="allowed"/> for <paramref name="option"/>; anything else is an error naming the
    /// option, the value and the allowed values (the parser's own message names neither option nor values).
    /// </summary>
    public static Option<string> OneOf(this Option<string> option, params string[] allowed)
    {
        option.CompletionSources.Add(allowed);
        option.HelpName = string.Join("|", allowed);
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
            {
                if (!allowed.Contains(token.Value, StringComparer.Ordinal))
                    r.AddError($"'{option.Name}': '{token.Value}' is not allowed; allowed {string.Join(", ", allowed)}.");
            }
        });
        return option;
    }

    /// <summary>Where results go (standard output, or the writer a test passed in).</summary>
    public static TextWriter Output(this ParseResult parse) => parse.InvocationConfiguration.Output;

    /// <summary>Where logs and progress go (standard error, or the writer a test passed in).</summary>
    public static TextWriter Error(this ParseResult parse) => parse.InvocationConfiguration.Error;
}
