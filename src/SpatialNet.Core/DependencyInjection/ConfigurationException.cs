namespace SpatialNet.DependencyInjection;

/// <summary>
/// A configuration is malformed, has an unknown key or a value out of range, or does not fit the
/// data; every problem names its configuration path (e.g. <c>tasks:1:head:num_classes</c>).
/// </summary>
public sealed class ConfigurationException : SpatialNetException
{
    /// <summary>Creates the exception from one message per problem.</summary>
    public ConfigurationException(string? source, IReadOnlyList<string> problems)
        : base((source is null ? "Invalid configuration" : $"Invalid configuration '{source}'") + ":" +
               string.Concat((problems ?? throw new ArgumentNullException(nameof(problems))).Select(p => Environment.NewLine + "  " + p)))
    {
        Problems = problems;
    }

    /// <summary>Creates the exception.</summary>
    public ConfigurationException(string message) : base(message) => Problems = [message];

    /// <summary>Creates the exception.</summary>
    public ConfigurationException() : this("Invalid configuration.") { }

    /// <summary>Creates the exception.</summary>
    public ConfigurationException(string message, Exception inner) : base(message, inner) => Problems = [message];

    /// <summary>Each problem: the configuration path, its value and what is allowed.</summary>
    public IReadOnlyList<string> Problems { get; }
}
