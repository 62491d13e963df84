namespace SpatialNet.Cli.Hosting;

/// <summary>The tool's exit codes.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Success = 0;

    /// <summary>Bad input (a file or field, named in the message) or a failed run.</summary>
    public const int Failure = 1;

    /// <summary>A bad command line.</summary>
    public const int Usage = 2;

    /// <summary>Stopped by Ctrl+C or SIGTERM (128 + SIGINT).</summary>
    public const int Interrupted = 130;
}
