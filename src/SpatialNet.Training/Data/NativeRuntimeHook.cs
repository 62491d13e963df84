using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using SpatialNet.Runtime;

namespace SpatialNet.Training.Data;

/// <summary>
/// Registers SpatialNet.Core's native-library resolver as soon as this assembly loads: data code can
/// create tensors before any SpatialNet.Core type has been touched, and the resolver must be in place
/// before TorchSharp's first native call.
/// </summary>
internal static class NativeRuntimeHook
{
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "Only registers a DllImport resolver (idempotent); loads nothing itself.")]
    internal static void Register()
    {
        try { TorchNativeRuntime.Register(); }
        catch (InvalidOperationException) { /* a host registered its own resolver: EnsureInitialized reports it */ }
    }
}
