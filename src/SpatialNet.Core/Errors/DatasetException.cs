
namespace SpatialNet;

/// <summary>
/// Base class of every error raised while reading a dataset or an image: it names the file and,
/// where one applies, the field (a JSON path such as <c>questions[12].type</c>, or a TIFF tag such
/// as <c>BitsPerSample</c>) that is wrong, so the user can open the file and look.
/// </summary>
public class DatasetException : SpatialNetException
{
    /// <summary>Creates the exception; the message is prefixed with the file and field.</summary>
    /// <param name="filePath">The file that is missing or malformed (null when no single file is at fault).</param>
    /// <param name="field">The field within the file (null when the whole file is at fault).</param>
    /// <param name="detail">What is wrong and, where useful, what is allowed.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public DatasetException(string? filePath, string? field, string detail, Exception? innerException = null)
        : base(Compose(filePath, field, detail), innerException)
    {
        FilePath = filePath;
        Field = field;
        Detail = detail;
    }

    /// <summary>The file that is missing or malformed, or null.</summary>
    public string? FilePath { get; }

    /// <summary>The field within the file (JSON path or TIFF tag), or null.</summary>
    public string? Field { get; }

    /// <summary>The description of the problem without the file and field prefix.</summary>
    public string Detail { get; }

    private static string Compose(string? filePath, string? field, string detail)
    {
        var where = (filePath, field) switch
        {
            (not null, not null) => $"{filePath}: field '{field}': ",
            (not null, null) => $"{filePath}: ",
            (null, not null) => $"field '{field}': ",
            _ => string.Empty,
        };
        return where + detail;
    }
}

/// <summary>A file's content does not follow its documented format (malformed JSON, a missing or
/// invalid field, an unknown question type, an empty split, an unexpected band count).</summary>
public sealed class DatasetFormatException : DatasetException
{
    /// <inheritdoc cref="DatasetException(string?, string?, string, Exception?)"/>
    public DatasetFormatException(string? filePath, string? field, string detail, Exception? innerException = null)
        : base(filePath, field, detail, innerException) { }
}

/// <summary>A file or folder a dataset needs is not on disk.</summary>
public sealed class DatasetFileNotFoundException : DatasetException
{
    /// <inheritdoc cref="DatasetException(string?, string?, string, Exception?)"/>
    public DatasetFileNotFoundException(string filePath, string? field, string detail, Exception? innerException = null)
        : base(filePath, field, detail, innerException) { }
}
