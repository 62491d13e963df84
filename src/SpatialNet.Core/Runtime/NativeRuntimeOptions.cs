namespace SpatialNet.Runtime;

/// <summary>
/// How SpatialNet loads TorchSharp's native libraries. Every setting can also be given through an
/// environment variable, which wins over code so an operator can change behaviour without a rebuild.
/// </summary>
public sealed class NativeRuntimeOptions
{
    /// <summary>Environment variable: set to <c>0</c>/<c>false</c> to disable the libstdc++ compatibility copy.</summary>
    public const string CompatibilityPatchVariable = "SPATIALNET_LIBSTDCXX_COMPAT";

    /// <summary>Environment variable: folder of an existing libtorch (e.g. a PyTorch installation's <c>torch/lib</c>).</summary>
    public const string LibTorchDirectoryVariable = "SPATIALNET_LIBTORCH_DIR";

    /// <summary>Environment variable: folder where the compatibility copy is cached.</summary>
    public const string CacheDirectoryVariable = "SPATIALNET_NATIVE_CACHE";

    /// <summary>Environment variable: set to <c>1</c> to silence the log line written to standard error when no logger is given.</summary>
    public const string QuietVariable = "SPATIALNET_NATIVE_QUIET";

    /// <summary>
    /// Serve a copy of <c>libLibTorchSharp.so</c> whose need for <c>GLIBCXX_3.4.32</c> is weak when the
    /// system libstdc++ lacks that version (Debian 12, Ubuntu 22.04). Default <c>true</c>; has no effect
    /// where it is not needed or not on Linux.
    /// </summary>
    public bool LibStdCxxCompatibility { get; set; } = true;

    /// <summary>
    /// Folder holding an existing libtorch's shared libraries (<c>libc10.so</c>, <c>libtorch_cpu.so</c>,
    /// <c>libtorch.so</c>, and for CUDA <c>libtorch_cuda.so</c>). When set, these are loaded before
    /// TorchSharp's own lookup, so TorchSharp binds to them. <c>null</c> (default): use the runtime
    /// package referenced by the application.
    /// </summary>
    public string? LibTorchDirectory { get; set; }

    /// <summary>Where the patched copy is cached. Default: <c>$XDG_CACHE_HOME/spatialnet/native</c> or <c>~/.cache/spatialnet/native</c>.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Applies environment-variable overrides and returns a new options object.</summary>
    internal NativeRuntimeOptions WithEnvironment()
    {
        var o = new NativeRuntimeOptions
        {
            LibStdCxxCompatibility = LibStdCxxCompatibility,
            LibTorchDirectory = LibTorchDirectory,
            CacheDirectory = CacheDirectory,
        };
        var compat = Environment.GetEnvironmentVariable(CompatibilityPatchVariable);
        if (!string.IsNullOrWhiteSpace(compat))
            o.LibStdCxxCompatibility = !(compat.Trim() is "0" || compat.Trim().Equals("false", StringComparison.OrdinalIgnoreCase) || compat.Trim().Equals("off", StringComparison.OrdinalIgnoreCase));
        var dir = Environment.GetEnvironmentVariable(LibTorchDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(dir)) o.LibTorchDirectory = dir;
        var cache = Environment.GetEnvironmentVariable(CacheDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(cache)) o.CacheDirectory = cache;
        return o;
    }
}
