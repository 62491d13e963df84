using SpatialNet.Training.Batching;
using SpatialNet.Training.Engine;
using TorchSharp;
using static SpatialNet.Benchmarks.Measurements;

namespace SpatialNet.Benchmarks;

/// <summary>
/// Many steps of a small configuration through the real trainer (<see cref="TrainingBenchmark"/>),
/// with the device input pipeline by default, sampling live tensors and process memory (after a full
/// garbage collection) at intervals. Both must stay flat: a tensor that outlives its step, or native
/// memory that grows with the step count, shows here long before it stops a 50-epoch run.
/// </summary>
internal static class SoakBenchmark
{
    /// <summary>Most growth of the working set between the first sample after warm-up and the last that still counts as flat.</summary>
    public const double FlatMemoryMiB = 16;

    /// <summary>Runs the soak; returns true when both live tensors and memory stayed flat.</summary>
    public static bool Run(BenchmarkOptions o, torch.Device device, TextWriter log)
    {
        using var model = new BenchmarkModel(o, device);
        var input = BenchmarkModel.CreateInput(o, device, o.Steps, out var inputOwner);
        using var _ = inputOwner;
        using var runner = new TrainerStepRunner(model, input, o, device);
        log.WriteLine($"Soak, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.MachineName}, {device.type.ToString().ToLowerInvariant()}" +
            $" ({torch.get_num_threads()} torch threads): {o.Steps} steps of MultiTaskModel(ViT depth {o.Depth}, D {o.Dim}, {o.Heads} heads, " +
            $"patch {o.Patch}, {o.Image}×{o.Image}), batch {o.Batch}, {o.PrecisionLabel}, " +
            (o.Input == InputKind.Pipeline ? $"DeviceBatchCache ({o.Samples} images) + Prefetcher" : "fixed batch") + $"; {runner.Description}");
        log.WriteLine("Samples after a full GC; 'thread' = TorchSharp's live count on the training thread, 'process' = Tensor.TotalCount, " +
            "managed heap = GC heap size after that collection.");
        log.WriteLine("| step | live tensors (thread) | live tensors (process) | working set MiB | managed heap MiB | steps/s |");
        log.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        var processCounts = new List<long>();
        var heaps = new List<long>();
        var report = TrainingBenchmark.Run(runner.Trainer, o.Steps, o.SampleEvery, s =>
        {
            long process = torch.Tensor.TotalCount;
            processCounts.Add(process);
            // GC.GetTotalMemory (the sample's figure) can read below zero right after a collection on .NET 10;
            // the heap size of the last collection, which the sampler has just run, cannot.
            long heap = GC.GetGCMemoryInfo().HeapSizeBytes;
            heaps.Add(heap);
            log.WriteLine($"| {s.Step} | {s.LiveTensors} | {process} | {F(MiB(s.WorkingSetBytes))} | {F(MiB(heap))} | {F(s.StepsPerSecond)} |");
        }, collectGarbage: true);

        var samples = report.Samples;
        var first = samples[Math.Min(1, samples.Count - 1)];
        var last = samples[^1];
        long threadGrowth = report.LiveTensorGrowth;
        // The process-wide count also holds the batches the Prefetcher has made ahead, which varies from
        // sample to sample; a leak shows as a higher maximum in the second half of the run than in the first.
        var afterWarmup = processCounts.Skip(1).ToList();
        int half = afterWarmup.Count / 2;
        long firstHalfMax = afterWarmup.Take(Math.Max(half, 1)).Max(), secondHalfMax = afterWarmup.Skip(half).Max();
        double memoryGrowth = MiB(report.WorkingSetGrowthBytes);
        bool tensorsFlat = threadGrowth == 0 && secondHalfMax <= firstHalfMax;
        bool memoryFlat = memoryGrowth <= FlatMemoryMiB;
        log.WriteLine();
        log.WriteLine($"VERDICT live tensors: {(tensorsFlat ? "flat" : "GROWING")} — thread {first.LiveTensors} → {last.LiveTensors} ({threadGrowth:+0;-0;0}), " +
            $"from step {first.Step} to step {last.Step}; process {afterWarmup.Min()}–{afterWarmup.Max()} (most in the first half {firstHalfMax}, in the second {secondHalfMax})");
        log.WriteLine($"VERDICT process memory: {(memoryFlat ? "flat" : "GROWING")} — working set {F(MiB(first.WorkingSetBytes))} → {F(MiB(last.WorkingSetBytes))} MiB " +
            $"({memoryGrowth:+0.0;-0.0;0.0} MiB, limit +{F(FlatMemoryMiB, "F0")} MiB), managed heap {F(MiB(heaps[Math.Min(1, heaps.Count - 1)]))} → {F(MiB(heaps[^1]))} MiB; " +
            $"{F(report.StepsPerSecond)} steps/s");
        log.WriteLine($"RESULT impl={Implementation}-soak device={device.type.ToString().ToLowerInvariant()} precision={o.PrecisionLabel} batch={o.Batch} steps={o.Steps} " +
            $"live_growth={threadGrowth} process_tensor_growth={secondHalfMax - firstHalfMax} ws_growth_mib={F(memoryGrowth)} flat={(tensorsFlat && memoryFlat ? "yes" : "no")}");
        return tensorsFlat && memoryFlat;
    }
}
