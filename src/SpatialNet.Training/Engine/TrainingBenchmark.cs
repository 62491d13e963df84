using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Engine;

/// <summary>A measurement taken during <see cref="TrainingBenchmark.Run"/>.</summary>
/// <param name="Step">Steps run so far in the benchmark.</param>
/// <param name="LiveTensors">Tensors alive on the training thread (TorchSharp's dispose-scope statistics).</param>
/// <param name="WorkingSetBytes">Process working set (resident memory), bytes.</param>
/// <param name="ManagedHeapBytes">Managed heap size, bytes.</param>
/// <param name="ElapsedSeconds">Seconds since the benchmark started.</param>
/// <param name="StepsPerSecond">Throughput since the previous sample.</param>
internal sealed record BenchmarkSample(long Step, long LiveTensors, long WorkingSetBytes, long ManagedHeapBytes, double ElapsedSeconds, double StepsPerSecond);

/// <summary>Result of <see cref="TrainingBenchmark.Run"/>.</summary>
/// <param name="Samples">Samples in step order; the first is taken before any step.</param>
internal sealed record BenchmarkReport(IReadOnlyList<BenchmarkSample> Samples)
{
    /// <summary>
    /// Change of <see cref="BenchmarkSample.LiveTensors"/> from the second sample (after warm-up, when
    /// lazily created state such as pending loss buffers exists) to the last; 0 means no tensor leaks.
    /// </summary>
    public long LiveTensorGrowth => Samples.Count < 3 ? 0 : Samples[^1].LiveTensors - Samples[1].LiveTensors;

    /// <summary>Change of working set from the second sample to the last, bytes.</summary>
    public long WorkingSetGrowthBytes => Samples.Count < 3 ? 0 : Samples[^1].WorkingSetBytes - Samples[1].WorkingSetBytes;

    /// <summary>Mean steps per second after the first sample interval.</summary>
    public double StepsPerSecond =>
        Samples.Count < 3 ? (Samples.Count == 2 ? Samples[1].StepsPerSecond : 0)
        : (Samples[^1].Step - Samples[1].Step) / Math.Max(1e-9, Samples[^1].ElapsedSeconds - Samples[1].ElapsedSeconds);
}

/// <summary>
/// Runs training steps of a real <see cref="Trainer"/> (no evaluation, checkpoints or epoch
/// bookkeeping) and samples live tensors, process memory and throughput at intervals — the
/// building block for the CPU leak check and the throughput benchmarks. Both memory figures must
/// stay flat over a long run.
/// </summary>
internal static class TrainingBenchmark
{
    /// <summary>Runs <paramref name="steps"/> steps, cycling through the trainer's batch source.</summary>
    /// <param name="trainer">The trainer (its optimizer state and step counters advance).</param>
    /// <param name="steps">Steps to run, ≥ 1.</param>
    /// <param name="sampleEvery">Steps between samples, ≥ 1.</param>
    /// <param name="onSample">Called with each sample as it is taken (for live printing).</param>
    /// <param name="collectGarbage">
    /// Run a full garbage collection (and finalizers, which release native handles such as TorchSharp
    /// scalars) before each sample, so memory readings show retained memory rather than garbage not
    /// yet collected. The time it takes is excluded from the step rate.
    /// </param>
    /// <param name="cancellationToken">Stops early.</param>
    public static BenchmarkReport Run(Trainer trainer, int steps, int sampleEvery, Action<BenchmarkSample>? onSample = null,
        bool collectGarbage = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleEvery);
        var samples = new List<BenchmarkSample>();
        var clock = Stopwatch.StartNew();
        using var process = Process.GetCurrentProcess();
        long lastStep = 0;
        double lastTime = 0;

        void Sample(long step)
        {
            // Read pending losses back first, so every sample sees the same number of loss buffers.
            trainer.FlushLosses();
            double now = clock.Elapsed.TotalSeconds;
            if (collectGarbage)
            {
                clock.Stop();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                clock.Start();
            }
            process.Refresh();
            double rate = step > lastStep && now > lastTime ? (step - lastStep) / (now - lastTime) : 0;
            var sample = new BenchmarkSample(step, DisposeScopeManager.Statistics.ThreadTotalLiveCount, process.WorkingSet64,
                GC.GetTotalMemory(forceFullCollection: false), now, rate);
            samples.Add(sample);
            onSample?.Invoke(sample);
            (lastStep, lastTime) = (step, now);
        }

        trainer.Model.Module.train();
        Sample(0);
        int epoch = 0;
        var batches = trainer.BatchSource.GetBatches(epoch).GetEnumerator();
        try
        {
            for (long step = 1; step <= steps && !cancellationToken.IsCancellationRequested; step++)
            {
                using (var scope = NewDisposeScope())
                {
                    if (!batches.MoveNext())
                    {
                        batches.Dispose();
                        batches = trainer.BatchSource.GetBatches(++epoch).GetEnumerator();
                        if (!batches.MoveNext())
                            throw new InvalidOperationException($"The batch source yielded no batch for epoch {epoch}.");
                    }
                    trainer.TrainStep(batches.Current);
                }
                if (step % sampleEvery == 0 || step == steps)
                    Sample(step);
            }
        }
        finally
        {
            batches.Dispose();
        }
        return new BenchmarkReport(samples);
    }
}
