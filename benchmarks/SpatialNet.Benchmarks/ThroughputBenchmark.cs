using SpatialNet.Training.Batching;
using System.Diagnostics;
using SpatialNet.Training.Engine;
using TorchSharp;
using static TorchSharp.torch;
using static SpatialNet.Benchmarks.Measurements;

namespace SpatialNet.Benchmarks;

/// <summary>Result of one throughput run.</summary>
internal sealed record ThroughputResult(
    double ImagesPerSecond,
    double StepMilliseconds,
    double Tflops,
    double MemoryMiB,
    string MemoryKind,
    IReadOnlyList<(string When, long Thread, long Process)> LiveTensors,
    double FirstLoss,
    double LastLoss);

/// <summary>
/// Times <see cref="BenchmarkOptions.Steps"/> training steps after <see cref="BenchmarkOptions.Warmup"/>
/// untimed ones, as the PyTorch reference does: the device is synchronised before the clock starts
/// and after the last step, and nothing in between waits for it except what the step itself does
/// (the trainer reads its losses back every <c>LossSyncInterval</c> steps).
/// </summary>
internal static class ThroughputBenchmark
{
    public static ThroughputResult Run(BenchmarkOptions o, Device device, TextWriter log)
    {
        var memory = new MemoryProbe(device);
        using var model = new BenchmarkModel(o, device);
        int total = o.Warmup + o.Steps;
        var source = BenchmarkModel.CreateInput(o, device, total, out var inputOwner);
        using var _ = inputOwner;
        using var runner = CreateRunner(o, model, source, device);
        PrintHeader(o, device, model, runner, log);

        var live = new List<(string, long, long)>();
        void Snapshot(string when)
        {
            var (thread, process) = LiveTensors();
            live.Add((when, thread, process));
        }
        Snapshot("built");
        using var batches = new BatchCycle(source);
        void RunSteps(int n)
        {
            for (int i = 0; i < n; i++)
            {
                // The batch is made inside the step's scope, as the trainer does, so it goes with the step.
                using var scope = NewDisposeScope();
                runner.Step(batches.Next());
            }
        }

        RunSteps(Math.Max(o.Warmup, 1));
        runner.Sync();
        double firstLoss = runner.LastLoss;
        Snapshot("warm");
        var clock = Stopwatch.StartNew();
        RunSteps(o.Steps);
        runner.Sync();
        clock.Stop();
        Snapshot("end");

        double seconds = clock.Elapsed.TotalSeconds;
        double imagesPerSecond = o.Batch * o.Steps / seconds;
        return new ThroughputResult(imagesPerSecond, 1000 * seconds / o.Steps, TrainFlopsPerImage(o) * imagesPerSecond / 1e12,
            memory.PeakMiB(), memory.Kind, live, firstLoss, runner.LastLoss);
    }

    /// <summary>
    /// Runs <paramref name="steps"/> more steps phase by phase, synchronising the device around each
    /// phase: "issue" is the time until the phase's calls return on the host, "total" until its device
    /// work is done. A phase whose issue time is close to its total is bound by the host (launch
    /// overhead), not by the GPU.
    /// </summary>
    public static IReadOnlyList<(string Phase, double IssueMs, double TotalMs)> Breakdown(BenchmarkOptions o, Device device, int steps, TextWriter log)
    {
        using var model = new BenchmarkModel(o, device);
        var source = BenchmarkModel.CreateInput(o, device, steps + 2, out var inputOwner);
        using var _ = inputOwner;
        using var runner = CreateRunner(o, model, source, device);
        using var batches = new BatchCycle(source);
        var sums = new Dictionary<string, (double Issue, double Total)>(StringComparer.Ordinal);
        var order = new List<string>();
        for (int s = 0; s < steps + 2; s++)
        {
            using var scope = NewDisposeScope();
            var batch = batches.Next();
            runner.Sync();
            foreach (var (name, run) in runner.Phases(batch))
            {
                var clock = Stopwatch.StartNew();
                run();
                double issue = clock.Elapsed.TotalMilliseconds;
                runner.Sync();
                double totalMs = clock.Elapsed.TotalMilliseconds;
                if (s < 2)
                    continue; // warm-up
                if (!sums.ContainsKey(name))
                    order.Add(name);
                var (i, t) = sums.GetValueOrDefault(name);
                sums[name] = (i + issue, t + totalMs);
            }
        }
        log.WriteLine($"Step phases, mean of {steps} steps, device synchronised around each phase:");
        log.WriteLine("| phase | issue (host) ms | total ms | host share |");
        log.WriteLine("| --- | ---: | ---: | ---: |");
        var rows = order.Select(n => (n, sums[n].Issue / steps, sums[n].Total / steps)).ToList();
        foreach (var (n, issue, totalMs) in rows)
            log.WriteLine($"| {n} | {F(issue, "F2")} | {F(totalMs, "F2")} | {F(100 * issue / Math.Max(totalMs, 1e-9), "F0")} % |");
        log.WriteLine($"| sum | {F(rows.Sum(r => r.Item2), "F2")} | {F(rows.Sum(r => r.Item3), "F2")} | |");
        return rows;
    }

    public static IStepRunner CreateRunner(BenchmarkOptions o, BenchmarkModel model, IBatchSource source, Device device) =>
        o.Optimizer == OptimizerKind.Flat ? new TrainerStepRunner(model, source, o, device) : new TorchOptimizerStepRunner(model, o, device);

    private static void PrintHeader(BenchmarkOptions o, Device device, BenchmarkModel model, IStepRunner runner, TextWriter log)
    {
        int tokens = (o.Image / o.Patch) * (o.Image / o.Patch) + 1;
        log.WriteLine($"SpatialNet training-step benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.MachineName}, " +
            $"{device.type.ToString().ToLowerInvariant()}{(device.type == DeviceType.CPU ? $" ({torch.get_num_threads()} torch threads, {Environment.ProcessorCount} cores)" : "")}, " +
            $"TorchSharp {TorchSharpVersion}");
        log.WriteLine($"model: MultiTaskModel(VisionTransformer depth {o.Depth}, D {o.Dim}, {o.Heads} heads, patch {o.Patch}, {o.Image}×{o.Image}; " +
            $"ClassificationHead '{BenchmarkModel.TaskName}', {o.Classes} classes), {F(model.Parameters / 1e6, "F2")} M parameters, {tokens} tokens");
        log.WriteLine($"step: {runner.Description}; {o.PrecisionLabel}, batch {o.Batch}, warm-up {o.Warmup}, timed {o.Steps}; input: " +
            (o.Input == InputKind.Fixed ? "one random batch on the device" : $"DeviceBatchCache ({o.Samples} uint8 images, flips/rotations, normalised) behind a Prefetcher"));
    }

    /// <summary>Batches of a source, epoch after epoch.</summary>
    internal sealed class BatchCycle(IBatchSource source) : IDisposable
    {
        private IEnumerator<IReadOnlyDictionary<string, Tensor>>? _batches;
        private int _epoch;

        public IReadOnlyDictionary<string, Tensor> Next()
        {
            _batches ??= source.GetBatches(_epoch).GetEnumerator();
            while (!_batches.MoveNext())
            {
                _batches.Dispose();
                _batches = source.GetBatches(++_epoch).GetEnumerator();
            }
            return _batches.Current;
        }

        public void Dispose() => _batches?.Dispose();
    }
}
