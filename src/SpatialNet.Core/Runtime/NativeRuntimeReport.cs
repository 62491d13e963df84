namespace SpatialNet.Runtime;

/// <summary>What <see cref="TorchNativeRuntime"/> found and did while loading TorchSharp's natives.</summary>
public sealed record NativeRuntimeReport
{
    /// <summary>The libstdc++ the process uses, when found (Linux only).</summary>
    public string? SystemLibStdCxx { get; init; }

    /// <summary>Whether that libstdc++ defines <see cref="TorchNativeRuntime.RequiredGlibcxxVersion"/>; <c>null</c> when not checked.</summary>
    public bool? SystemHasRequiredGlibcxx { get; init; }

    /// <summary>The shipped <c>libLibTorchSharp.so</c> that was examined.</summary>
    public string? OriginalLibrary { get; init; }

    /// <summary>The compatibility copy that was loaded instead, when one was needed.</summary>
    public string? PatchedLibrary { get; init; }

    /// <summary>The bring-your-own libtorch folder whose libraries were loaded, when given.</summary>
    public string? LibTorchDirectory { get; init; }

    /// <summary>One sentence saying what was done.</summary>
    public string Action { get; init; } = "nothing yet";
}
