using SpatialNet.Training.Batching;
using System.Diagnostics;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Pipeline;
using TorchSharp;
using static TorchSharp.torch;
using static SpatialNet.Benchmarks.Measurements;

namespace SpatialNet.Benchmarks;

/// <summary>
/// The input pipeline alone — <see cref="DeviceBatchCache"/> batches (gather, flips/rotations,
/// conversion, normalisation) with nothing consuming them — against the images per second the model
/// trains on in the same configuration. The target is at least <see cref="RequiredRatio"/>×.
/// </summary>
internal static class PipelineBenchmark
{
    public const double RequiredRatio = 5;

    public static bool Run(BenchmarkOptions o, Device device, TextWriter log)
    {
        double modelRate;
        if (o.ModelImagesPerSecond is double given)
        {
            modelRate = given;
            log.WriteLine($"model consumption: {F(modelRate)} img/s (given with --model-img-s)");
        }
        else
        {
            var measured = ThroughputBenchmark.Run(o, device, log);
            modelRate = measured.ImagesPerSecond;
            log.WriteLine($"model consumption: {F(modelRate)} img/s (measured now: {o.PrecisionLabel}, {o.Optimizer.ToString().ToLowerInvariant()} optimizer, batch {o.Batch})");
        }

        var dtype = o.ComputeDType;
        using var generator = BenchmarkModel.SeededGenerator(device, 2);
        using var cache = BenchmarkModel.CreateCache(o, device, dtype, generator);
        log.WriteLine($"pipeline: DeviceBatchCache of {cache.SampleCount} uint8 images 3×{o.Image}×{o.Image} ({F(MiB(cache.ImageBytes))} MiB, {cache.Residence.ToString().ToLowerInvariant()}-resident), " +
            $"batch {o.Batch}, per-sample flips/rotations, normalised to {dtype}");
        int batches = Math.Max(20, 2 * cache.BatchesPerEpoch);
        double sequential = Measure(cache, batches, device);
        double prefetched = Measure(new Prefetcher(cache, depth: 2), batches, device);
        double ratio = sequential / modelRate;
        bool pass = ratio >= RequiredRatio;
        log.WriteLine($"| what | img/s |");
        log.WriteLine($"| --- | ---: |");
        log.WriteLine($"| pipeline alone (sequential) | {F(sequential)} |");
        log.WriteLine($"| pipeline alone (Prefetcher, 2 ahead) | {F(prefetched)} |");
        log.WriteLine($"| model training step consumes | {F(modelRate)} |");
        log.WriteLine($"VERDICT pipeline: {(pass ? "PASS" : "FAIL")} — delivers {F(ratio)}× what the model consumes (required ≥ {F(RequiredRatio, "F0")}×)");
        log.WriteLine($"RESULT impl={Implementation}-pipeline device={device.type.ToString().ToLowerInvariant()} precision={o.PrecisionLabel} batch={o.Batch} " +
            $"pipeline_img_s={F(sequential)} prefetch_img_s={F(prefetched)} model_img_s={F(modelRate)} ratio={F(ratio, "F2")}");
        return pass;
    }

    /// <summary>Images per second delivered by <paramref name="source"/> over <paramref name="batches"/> batches (after two untimed ones).</summary>
    private static double Measure(IBatchSource source, int batches, Device device)
    {
        using var cycle = new ThroughputBenchmark.BatchCycle(source);
        long images = 0;
        void Take(int n, bool count)
        {
            for (int i = 0; i < n; i++)
            {
                using var scope = NewDisposeScope();
                var batch = cycle.Next();
                if (count)
                    images += batch[BenchmarkModel.ImageKey].shape[0];
            }
        }
        Take(2, count: false);
        Synchronize(device);
        var clock = Stopwatch.StartNew();
        Take(batches, count: true);
        Synchronize(device);
        return images / clock.Elapsed.TotalSeconds;
    }
}
