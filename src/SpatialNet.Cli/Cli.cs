using SpatialNet.Cli.Output;
using System.CommandLine;
using System.CommandLine.Invocation;
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
        CompareCommand.Create(),
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
        var verbose = new Option<bool>("--verbose") { Description = "Show the native runtime's loader line and, with an error, stack traces (and libtorch's C++ frames).", Recursive = true };
        root.Options.Add(verbose);
        // The tool's own version, also when it runs in-process (a test host is the entry assembly then).
        foreach (var version in root.Options.OfType<VersionOption>())
            version.Action = new VersionAction();
        ParseResult parse;
        try
        {
            parse = root.Parse(args);
        }
        catch (Exception ex)
        {
            error.WriteLine($"spatialnet: {SpatialNet.ErrorBoundary.Describe(ex, args.Contains("--verbose"))}");
            return ExitCodes.Failure;
        }
        // The native-runtime loader's line (which libtorch, any workaround) is shown with --verbose only.
        SpatialNet.Runtime.TorchNativeRuntime.Logger = parse.GetValue(verbose)
            ? CliLogging.Create(error, quiet: false).CreateLogger(typeof(SpatialNet.Runtime.TorchNativeRuntime).FullName!)
            : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        // Signals are handled by the caller (Program), which owns the token; the parser must not exit on its own.
        var invocation = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        if (parse.Errors.Count > 0)
            return CommandLineErrors.Report(parse, error, "spatialnet");
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
