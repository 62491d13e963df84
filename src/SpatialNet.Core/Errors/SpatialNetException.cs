namespace SpatialNet;

/// <summary>
/// Base of every error SpatialNet raises on bad input or a failed run: the message names the file,
/// field or option at fault and what is allowed. Hosts catch this one type (see <see cref="ErrorBoundary"/>).
/// </summary>
public class SpatialNetException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SpatialNetException() : base("SpatialNet failed.") { }

    /// <summary>Creates the exception.</summary>
    public SpatialNetException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public SpatialNetException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A weight file (safetensors or PyTorch <c>torch.save</c>) is missing, malformed or not a state dict; the message names the file.</summary>
public sealed class WeightFileException : SpatialNetException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>.</summary>
    public WeightFileException(string? filePath, string message, Exception? innerException = null) : base(message, innerException) => FilePath = filePath;

    /// <summary>Creates the exception.</summary>
    public WeightFileException() : this(null, "Invalid weight file.") { }

    /// <summary>Creates the exception.</summary>
    public WeightFileException(string message) : this(null, message) { }

    /// <summary>Creates the exception.</summary>
    public WeightFileException(string message, Exception innerException) : this(null, message, innerException) { }

    /// <summary>The file at fault, or null.</summary>
    public string? FilePath { get; }
}

/// <summary>
/// A training checkpoint cannot be used: not written by SpatialNet's trainer, damaged (checksum),
/// inconsistent (position, optimizer layout) or built for another model; the message names the file.
/// </summary>
public sealed class CheckpointException : SpatialNetException
{
    /// <summary>Creates the exception for <paramref name="filePath"/>.</summary>
    public CheckpointException(string? filePath, string message, Exception? innerException = null) : base(message, innerException) => FilePath = filePath;

    /// <summary>Creates the exception.</summary>
    public CheckpointException() : this(null, "Invalid checkpoint.") { }

    /// <summary>Creates the exception.</summary>
    public CheckpointException(string message) : this(null, message) { }

    /// <summary>Creates the exception.</summary>
    public CheckpointException(string message, Exception innerException) : this(null, message, innerException) { }

    /// <summary>The checkpoint file, or null.</summary>
    public string? FilePath { get; }
}

/// <summary>
/// A size cannot fit: the estimated memory of a model, image or dataset exceeds what the machine has.
/// Raised before anything is allocated; the message names the option and the estimate.
/// </summary>
public sealed class ResourceLimitException : SpatialNetException
{
    /// <summary>Creates the exception.</summary>
    public ResourceLimitException(string? option, string message, Exception? innerException = null) : base(message, innerException) => Option = option;

    /// <summary>Creates the exception.</summary>
    public ResourceLimitException() : this(null, "Not enough memory.") { }

    /// <summary>Creates the exception.</summary>
    public ResourceLimitException(string message) : this(null, message) { }

    /// <summary>Creates the exception.</summary>
    public ResourceLimitException(string message, Exception innerException) : this(null, message, innerException) { }

    /// <summary>The option whose value is too large, or null.</summary>
    public string? Option { get; }
}
