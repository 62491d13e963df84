using System.Diagnostics;
using SpatialNet.Training.Inference;
using TorchSharp;
using static SpatialNet.Benchmarks.Measurements;
using static TorchSharp.torch;

namespace SpatialNet.Benchmarks;

/// <summary>
/// Maps a GeoTIFF scene with an untrained model of the given size (bands 3, 2, 1 → 3 channels; a
/// classification and a regression task) and prints wall time, windows per second and the peak
/// resident memory of the process (VmHWM), the figure docs/scene-mapping.md records.
/// </summary>
internal static class SceneBenchmark
{
    public static bool Run(BenchmarkOptions o, Device device, TextWriter log)
    {
        var scene = o.ScenePath!;
        if (!File.Exists(scene))
        {
            log.WriteLine($"--scene {scene}: no such file (benchmarks/scene/make-scene.py writes one).");
            return false;
        }
        using var model = new BenchmarkModel(o, device, sn => sn
            .AddClassificationTask(BenchmarkModel.TaskName, o.Classes)
            .AddRegressionTask("building_count"));
        var windows = new MultiTaskWindowModel(model.Model, channels: 3, windowSize: o.Image, device: device);
        var output = Path.Combine(Path.GetTempPath(), $"spatialnet-scene-{Environment.ProcessId}");
        Directory.CreateDirectory(output);
        var rssBefore = PeakResidentMiB();
        long lastPercent = -1;
        var progress = new InlineProgress(p =>
        {
            var percent = 100 * p.WindowsDone / Math.Max(1, p.WindowsTotal);
            if (percent / 10 != lastPercent / 10) log.WriteLine($"  {percent,3} % windows {p.WindowsDone:N0}/{p.WindowsTotal:N0}, map rows {p.MapRowsWritten}/{p.MapRows}");
            lastPercent = percent;
        });
        var watch = Stopwatch.StartNew();
        var result = SceneMapper.Map(windows, scene, Path.Combine(output, "map.tif"),
            new SceneMappingOptions { Bands = [2, 1, 0], Stride = o.Stride, BatchSize = o.Batch }, progress);
        watch.Stop();
        var summary = result.Summary;
        var windowsPerSecond = (summary.WindowsRun + summary.WindowsSkipped) / watch.Elapsed.TotalSeconds;
        log.WriteLine("| metric | value |");
        log.WriteLine("| --- | --- |");
        log.WriteLine($"| scene | {summary.SceneWidth} × {summary.SceneHeight}, {new FileInfo(scene).Length / (1 << 20):N0} MiB on disk |");
        log.WriteLine($"| model | ViT depth {o.Depth}, dim {o.Dim}, patch {o.Patch}, window {o.Image}, batch {o.Batch}, {torch.get_num_threads()} torch threads |");
        log.WriteLine($"| windows | {summary.WindowsRun:N0} run, {summary.WindowsSkipped:N0} skipped (no-data) |");
        log.WriteLine($"| map | {summary.MapWidth} × {summary.MapHeight} cells of {summary.CellSize} px |");
        log.WriteLine($"| time | {F(watch.Elapsed.TotalSeconds, "F1")} s ({F(windowsPerSecond, "F0")} windows/s) |");
        log.WriteLine($"| of which reading + preparing windows | {F(result.ReadTime.TotalSeconds, "F1")} s |");
        log.WriteLine($"| of which the model | {F(result.ModelTime.TotalSeconds, "F1")} s |");
        log.WriteLine($"| peak resident memory | {F(PeakResidentMiB(), "F0")} MiB (before mapping {F(rssBefore, "F0")} MiB) |");
        log.WriteLine($"| managed heap after | {F(GC.GetTotalMemory(false) / 1048576.0, "F0")} MiB |");
        log.WriteLine($"RESULT impl={Implementation}-scene width={summary.SceneWidth} height={summary.SceneHeight} seconds={F(watch.Elapsed.TotalSeconds, "F1")} " +
            $"windows_s={F(windowsPerSecond, "F0")} peak_rss_mib={F(PeakResidentMiB(), "F0")}");
        Directory.Delete(output, recursive: true);
        return true;
    }

    // VmHWM of /proc/self/status (Linux); -1 elsewhere.
    private static double PeakResidentMiB()
    {
        if (!File.Exists("/proc/self/status")) return -1;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    }

    private sealed class InlineProgress(Action<SceneMappingProgress> report) : IProgress<SceneMappingProgress>
    {
        public void Report(SceneMappingProgress value) => report(value);
    }
}
