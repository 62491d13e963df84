using SpatialNet.Training.Devices;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using SpatialNet.Training.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Benchmarks;

/// <summary>Counting, memory and output helpers shared by the benchmark modes.</summary>
internal static class Measurements
{
    /// <summary>"spatialnet-0.1.0": the implementation tag of RESULT lines.</summary>
    public static string Implementation
    {
        get
        {
            var v = typeof(Training.Engine.Trainer).Assembly.GetName().Version ?? new Version(0, 0, 0);
            return $"spatialnet-{v.Major}.{v.Minor}.{v.Build}";
        }
    }

    /// <summary>TorchSharp's assembly version, for the report header.</summary>
    public static string TorchSharpVersion =>
        typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "?";

    /// <summary>
    /// Training FLOPs of one image, 6 × multiply-accumulates (forward 2×, backward 4×), counted as the
    /// PyTorch reference (benchmarks/reference/vit_train_bench.py) counts them: per block qkv 3D²N,
    /// projection D²N, MLP 8D²N and attention 2N²D; patch embedding 3P²D(N−1); classifier D·classes;
    /// N = patches + class token.
    /// </summary>
    public static double TrainFlopsPerImage(BenchmarkOptions o)
    {
        double n = Math.Pow(o.Image / o.Patch, 2) + 1, d = o.Dim;
        double macs = o.Depth * (12.0 * d * d * n + 2.0 * n * n * d) + 3.0 * o.Patch * o.Patch * d * (n - 1) + d * o.Classes;
        return 6.0 * macs;
    }

    /// <summary>Tensors alive on this thread (TorchSharp's dispose-scope statistics) and in the whole process.</summary>
    public static (long Thread, long Process) LiveTensors() =>
        (DisposeScopeManager.Statistics.ThreadTotalLiveCount, Tensor.TotalCount);

    /// <summary>Waits for the device's queued work (CUDA); nothing to wait for on CPU.</summary>
    public static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA)
            cuda.synchronize(device);
    }

    public static string F(double v, string format = "F1") => v.ToString(format, CultureInfo.InvariantCulture);

    public static double MiB(long bytes) => bytes / (1024.0 * 1024.0);
}

/// <summary>
/// Peak memory of a run. CUDA: device memory in use (driver's free-memory reading, since TorchSharp
/// exposes no allocator statistics) minus the reading after the CUDA context was created — the
/// caching allocator keeps what it reserved, so the end reading is the peak it reserved. CPU: the
/// process's peak working set.
/// </summary>
internal sealed class MemoryProbe
{
    private readonly Device _device;
    private readonly long _baselineUsed;

    public MemoryProbe(Device device)
    {
        _device = device;
        if (device.type == DeviceType.CUDA)
        {
            // Make the context current on this thread first; the reading excludes the context itself.
            using (zeros(1, device: device))
                cuda.synchronize(device);
            _baselineUsed = DeviceMemory.TryGetCudaMemory(out long free, out long total) ? total - free : -1;
        }
    }

    /// <summary>What <see cref="PeakMiB"/> measures.</summary>
    public string Kind => _device.type == DeviceType.CUDA ? "device memory reserved by this process (driver reading)" : "process peak working set";

    /// <summary>Peak MiB so far, or −1 when it cannot be read.</summary>
    public double PeakMiB()
    {
        if (_device.type == DeviceType.CUDA)
        {
            if (_baselineUsed < 0 || !DeviceMemory.TryGetCudaMemory(out long free, out long total))
                return -1;
            return Measurements.MiB(total - free - _baselineUsed);
        }
        using var process = Process.GetCurrentProcess();
        return Measurements.MiB(process.PeakWorkingSet64);
    }
}
