namespace SpatialNet.Runtime;

/// <summary>
/// TorchSharp's native libraries could not be loaded. The message states the real cause (the
/// dynamic loader's error for the library that failed), not TorchSharp's generic advice.
/// </summary>
public sealed class NativeRuntimeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NativeRuntimeException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>Creates the exception with a default message.</summary>
    public NativeRuntimeException() : base("TorchSharp's native runtime could not be loaded.") { }

    /// <summary>Creates the exception.</summary>
    public NativeRuntimeException(string message) : base(message) { }
}
