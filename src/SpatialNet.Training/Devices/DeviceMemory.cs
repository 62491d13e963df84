using System.Runtime.InteropServices;

namespace SpatialNet.Training.Devices;

/// <summary>
/// Free and total memory of the current CUDA device, asked of the CUDA driver (<c>cuMemGetInfo</c>),
/// because TorchSharp 0.107 exposes no allocator statistics. The figures cover the whole device
/// (every process and the CUDA context), so compare readings taken in one process before and after.
/// </summary>
internal static class DeviceMemory
{
    // CUresult cuMemGetInfo_v2(size_t* free, size_t* total)
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int CuMemGetInfo(out nuint free, out nuint total);

    private static readonly Lazy<CuMemGetInfo?> Query = new(Load);

    /// <summary>
    /// Reads free and total bytes of the device current on the calling thread. Returns false when no
    /// CUDA driver is present or no CUDA context is current on this thread (call it on the thread
    /// that runs the CUDA work, after the first CUDA operation).
    /// </summary>
    public static bool TryGetCudaMemory(out long freeBytes, out long totalBytes)
    {
        freeBytes = totalBytes = 0;
        var query = Query.Value;
        if (query is null)
            return false;
        if (query(out var free, out var total) != 0)
            return false;
        freeBytes = (long)free;
        totalBytes = (long)total;
        return true;
    }

    private static CuMemGetInfo? Load()
    {
        string name = OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";
        if (!NativeLibrary.TryLoad(name, out var handle))
            return null;
        return NativeLibrary.TryGetExport(handle, "cuMemGetInfo_v2", out var address)
            ? Marshal.GetDelegateForFunctionPointer<CuMemGetInfo>(address)
            : null;
    }
}
