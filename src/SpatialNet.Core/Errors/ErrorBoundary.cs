using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using SpatialNet.Runtime;

namespace SpatialNet;

/// <summary>
/// The outermost catch of a host (the <c>spatialnet</c> tool, a service): turns any exception into a
/// <see cref="SpatialNetException"/> whose message a user can act on. libtorch errors keep their
/// message without the C++ <c>frame #N</c> trace (shown only when verbose); overflow, out-of-memory
/// and indexing errors say what kind of failure they are.
/// </summary>
public static class ErrorBoundary
{
    /// <summary>Translates <paramref name="exception"/>; a <see cref="SpatialNetException"/> is returned as it is.</summary>
    /// <param name="exception">What was caught.</param>
    /// <param name="verbose">Keep libtorch's C++ frames in the message.</param>
    public static SpatialNetException Translate(Exception exception, bool verbose = false)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var e = Unwrap(exception);
        return e switch
        {
            SpatialNetException s => s,
            ExternalException x => new NativeRuntimeException($"libtorch failed: {NativeMessage(x.Message, verbose)}", x),
            OutOfMemoryException => new ResourceLimitException(null,
                $"Out of memory ({e.Message.TrimEnd('.')}); a size in the configuration or the data (image size, batch size, model width) is too large for this machine.", e),
            OverflowException => new ResourceLimitException(null,
                $"A size or count is too large for its number type (arithmetic overflow: {e.Message.TrimEnd('.')}); check the values in the configuration and the files.", e),
            OperationCanceledException => new SpatialNetException("Cancelled.", e),
            ArgumentException { ParamName: { } name } a when a.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
                => new SpatialNetException(a.Message[..^$" (Parameter '{name}')".Length], e),
            IOException or UnauthorizedAccessException or InvalidDataException or FormatException or ArgumentException
                or InvalidOperationException or NotSupportedException or KeyNotFoundException or System.Text.Json.JsonException
                => new SpatialNetException(e.Message, e),
            _ => new SpatialNetException($"Internal error ({e.GetType().Name}: {e.Message.TrimEnd('.')}); the verbose output shows where.", e),
        };
    }

    /// <summary>The message to show a user: the translated message, and with <paramref name="verbose"/> the full exception (stack traces, C++ frames).</summary>
    public static string Describe(Exception exception, bool verbose = false)
    {
        var translated = Translate(exception, verbose);
        return verbose && !ReferenceEquals(translated, exception)
            ? translated.Message + Environment.NewLine + exception
            : verbose ? exception.ToString() : translated.Message;
    }

    /// <summary>libtorch's message without its C++ backtrace (<c>Exception raised from …</c> and <c>frame #N: …</c> lines) unless <paramref name="verbose"/>.</summary>
    public static string NativeMessage(string message, bool verbose = false)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (verbose)
            return message.TrimEnd();
        var kept = new StringBuilder();
        foreach (var line in message.Split('\n'))
        {
            var t = line.TrimStart();
            if (t.StartsWith("frame #", StringComparison.Ordinal) || t.StartsWith("Exception raised from ", StringComparison.Ordinal))
                continue;
            if (kept.Length > 0) kept.Append('\n');
            kept.Append(line.TrimEnd('\r'));
        }
        return kept.ToString().Trim();
    }

    private static Exception Unwrap(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: 1 } a: e = a.InnerExceptions[0]; continue;
                case TargetInvocationException { InnerException: { } inner }: e = inner; continue;
                case TypeInitializationException { InnerException: { } inner2 }: e = inner2; continue;
                default: return e;
            }
        }
    }
}
