namespace SpatialNet.Cli.Hosting;

/// <summary>Thrown for a command line that parses but makes no sense (exit code 2); the message says what is wrong.</summary>
public sealed class UsageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UsageException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public UsageException() : base("invalid command line") { }

    /// <summary>Creates the exception.</summary>
    public UsageException(string message, Exception inner) : base(message, inner) { }
}
