using System.Text.Encodings.Web;
using System.Text.Json;
using System.CommandLine;

namespace SpatialNet.Cli.Commands;

/// <summary>Options and plumbing several commands share.</summary>
internal static class CommonOptions
{
    /// <summary>Indented JSON for results on standard output and in files.</summary>
    public static JsonSerializerOptions Indented { get; } = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><c>--json</c>: the result as one JSON document on standard output, for scripts.</summary>
    public static Option<bool> Json() => new("--json") { Description = "Write the result as JSON to standard output (for scripts)." };

    /// <summary><c>--quiet</c>: warnings and errors only on standard error.</summary>
    public static Option<bool> Quiet() => new("--quiet", "-q") { Description = "Log warnings and errors only." };

    /// <summary>Where results go (standard output, or the writer a test passed in).</summary>
    public static TextWriter Output(this ParseResult parse) => parse.InvocationConfiguration.Output;

    /// <summary>Where logs and progress go (standard error, or the writer a test passed in).</summary>
    public static TextWriter Error(this ParseResult parse) => parse.InvocationConfiguration.Error;
}
