using System.CommandLine;
using SpatialNet;
using SpatialNet.Benchmarks;
using SpatialNet.Cli.Hosting;
using SpatialNet.Runtime;
using TorchSharp;
using static SpatialNet.Benchmarks.Measurements;

// Parsed and reported as the spatialnet tool does (the same source file): per-option help, the nearest
// names for a misspelt word, exit code 2 for a bad command line.
var parse = BenchmarkOptions.CreateCommand(Run).Parse(args);
if (parse.Errors.Count > 0)
    return CommandLineErrors.Report(parse, Console.Error, "spatialnet-benchmarks");
return parse.Invoke();

static int Run(BenchmarkOptions o)
{
    // CUDA needs the device type initialised before any other torch call (on the GPU machine this also
    // loads the PyTorch installation's libtorch named by SPATIALNET_LIBTORCH_DIR).
    try
    {
        TorchNativeRuntime.EnsureInitialized(o.IsCuda ? DeviceType.CUDA : DeviceType.CPU);
    }
    catch (NativeRuntimeException e)
    {
        Console.Error.WriteLine($"{(o.IsCuda ? "--device cuda" : "torch")}: the native runtime did not start: {e.Message}");
        return 3;
    }
    if (o.IsCuda && !torch.cuda.is_available())
    {
        Console.Error.WriteLine("--device cuda: CUDA is not available (no GPU, or a libtorch without CUDA; set SPATIALNET_LIBTORCH_DIR to a CUDA libtorch such as PyTorch's torch/lib).");
        return 3;
    }
    if (o.Threads > 0)
        torch.set_num_threads(o.Threads);
    var device = o.IsCuda ? torch.CUDA : torch.CPU;
    o.ResolveFor(device);
    var log = Console.Out;

    switch (o.Mode)
    {
        case BenchmarkMode.Soak:
            return SoakBenchmark.Run(o, device, log) ? 0 : 1;
        case BenchmarkMode.Pipeline:
            return PipelineBenchmark.Run(o, device, log) ? 0 : 1;
        case BenchmarkMode.Decode:
            return DecodeBenchmark.Run(o, device, log) ? 0 : 1;
        case BenchmarkMode.Inference:
            return InferenceBenchmark.Run(o, device, log) ? 0 : 1;
        case BenchmarkMode.Scene:
            return SceneBenchmark.Run(o, device, log) ? 0 : 1;
        case BenchmarkMode.Composers:
            return ComposerBenchmark.Run(o, device, log) ? 0 : 1;
        default:
            var r = ThroughputBenchmark.Run(o, device, log);
            double tflopsPeak = o.PeakTflops > 0 ? 100 * r.Tflops / o.PeakTflops : double.NaN;
            log.WriteLine("| metric | value |");
            log.WriteLine("| --- | --- |");
            log.WriteLine($"| throughput | {F(r.ImagesPerSecond)} img/s |");
            log.WriteLine($"| step time | {F(r.StepMilliseconds, "F2")} ms |");
            log.WriteLine($"| compute | {F(r.Tflops, r.Tflops < 1 ? "F4" : "F2")} TFLOP/s{(o.PeakTflops > 0 ? $" ({F(tflopsPeak)} % of {F(o.PeakTflops, "G")})" : "")} |");
            log.WriteLine($"| peak memory | {(r.MemoryMiB < 0 ? "n/a" : F(r.MemoryMiB, "F0") + " MiB")} ({r.MemoryKind}) |");
            log.WriteLine($"| live tensors, thread / process | {string.Join(" → ", r.LiveTensors.Select(l => $"{l.When} {l.Thread} / {l.Process}"))} |");
            log.WriteLine($"| loss | {F(r.FirstLoss, "F4")} after warm-up → {F(r.LastLoss, "F4")} at the end |");
            // The breakdown's own throughput run is only its preamble: no RESULT line, so tables do not count it twice.
            if (o.Mode != BenchmarkMode.Breakdown)
            {
                log.WriteLine($"RESULT impl={Implementation} device={device.type.ToString().ToLowerInvariant()} precision={o.PrecisionLabel} " +
                    $"optimizer={o.Optimizer.ToString().ToLowerInvariant()} batch={o.Batch} img_s={F(r.ImagesPerSecond)} step_ms={F(r.StepMilliseconds, "F2")} " +
                    $"tflops={F(r.Tflops, r.Tflops < 1 ? "F4" : "F2")}{(o.PeakTflops > 0 ? $" pct_peak={F(tflopsPeak)}" : "")} mem_mib={F(r.MemoryMiB, "F0")} " +
                    $"live_tensors={r.LiveTensors[^1].Thread} input={o.Input.ToString().ToLowerInvariant()}");
            }
            if (o.Mode == BenchmarkMode.Breakdown)
                ThroughputBenchmark.Breakdown(o, device, Math.Min(o.Steps, 10), log);
            return 0;
    }
}
