
namespace SpatialNet;

/// <summary>
/// TorchSharp's native runtime failed: its libraries could not be loaded (the message states the
/// dynamic loader's error for the library that failed, not TorchSharp's generic advice), or a libtorch
/// operation failed (<see cref="ErrorBoundary"/> keeps libtorch's message without its C++ frames).
/// </summary>
public sealed class NativeRuntimeException : SpatialNetException
{
    /// <summary>Creates the exception.</summary>
    public NativeRuntimeException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>Creates the exception with a default message.</summary>
    public NativeRuntimeException() : base("TorchSharp's native runtime could not be loaded.") { }

    /// <summary>Creates the exception.</summary>
    public NativeRuntimeException(string message) : base(message) { }
}
