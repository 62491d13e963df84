using Spectre.Console;

namespace SpatialNet.Cli.Output;

/// <summary>Spectre consoles over the tool's two streams.</summary>
internal static class Consoles
{
    /// <summary>
    /// A console writing to <paramref name="writer"/>: colours and live redraws only on a terminal, none
    /// when redirected or when <c>NO_COLOR</c> is set (https://no-color.org).
    /// </summary>
    public static IAnsiConsole Create(TextWriter writer)
    {
        bool noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        var output = new AnsiConsoleOutput(writer);
        return AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = output,
            Ansi = output.IsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = noColor || !output.IsTerminal ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = output.IsTerminal ? InteractionSupport.Yes : InteractionSupport.No,   // live on stderr even when stdout is redirected
        });
    }

    /// <summary>Whether live redraws (a progress bar) work on <paramref name="console"/>.</summary>
    public static bool IsLive(IAnsiConsole console) =>
        console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi && console.Profile.Out.IsTerminal;
}
