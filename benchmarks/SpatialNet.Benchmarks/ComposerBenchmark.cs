using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static SpatialNet.Benchmarks.Measurements;
using static TorchSharp.torch;

namespace SpatialNet.Benchmarks;

/// <summary>
/// Training-step time and peak memory of each multi-task strategy relative to <c>weighted_sum</c>, on
/// the same model (three tasks: two classifications and a regression) and the same fixed batch. Each
/// composer runs in its own process (<c>--composer NAME</c>), so each peak is its own; the driver
/// (<c>--composers a,b,c</c>) starts them one after another and prints the table.
/// </summary>
internal static class ComposerBenchmark
{
    public static bool Run(BenchmarkOptions o, Device device, TextWriter log) =>
        o.Composer is { } name ? RunOne(o, name, device, log) : RunAll(o, log);

    // One composer: Trainer.TrainStep timed as the throughput mode times it; prints one RESULT line.
    private static bool RunOne(BenchmarkOptions o, string name, Device device, TextWriter log)
    {
        var memory = new MemoryProbe(device);
        using var model = new BenchmarkModel(o, device, sn => sn
            .AddClassificationTask(BenchmarkModel.TaskName, o.Classes)
            .AddClassificationTask("scene", 5)
            .AddRegressionTask("count")
            .Configure(s => s.LossComposer = name));
        int total = o.Warmup + o.Steps;
        using var generator = BenchmarkModel.SeededGenerator(device, 1);
        // Made outside any dispose scope: the source owns these tensors.
        var batch = new Dictionary<string, Tensor>
        {
            [BenchmarkModel.ImageKey] = randn([o.Batch, 3, o.Image, o.Image], dtype: ScalarType.Float32, device: device, generator: generator).to(o.ComputeDType),
            [BenchmarkModel.TaskName] = randint(0, o.Classes, [o.Batch], ScalarType.Int64, device, generator: generator),
            ["scene"] = randint(0, 5, [o.Batch], ScalarType.Int64, device, generator: generator),
            ["count"] = randn([o.Batch], dtype: ScalarType.Float32, device: device, generator: generator),
        };

        using var source = new FixedBatchSource(batch, total);
        using var runner = new TrainerStepRunner(model, source, o, device);
        using var batches = new ThroughputBenchmark.BatchCycle(source);
        void RunSteps(int n)
        {
            for (int i = 0; i < n; i++)
            {
                using var scope = NewDisposeScope();
                runner.Step(batches.Next());
            }
        }

        RunSteps(Math.Max(o.Warmup, 1));
        runner.Sync();
        var clock = Stopwatch.StartNew();
        RunSteps(o.Steps);
        runner.Sync();
        clock.Stop();
        double stepMs = clock.Elapsed.TotalMilliseconds / o.Steps;
        log.WriteLine($"RESULT impl={Implementation} mode=composer composer={name} device={device.type.ToString().ToLowerInvariant()} " +
            $"batch={o.Batch} step_ms={F(stepMs, "F2")} mem_mib={F(memory.PeakMiB(), "F0")} loss={F(runner.LastLoss, "G6")}");
        return double.IsFinite(runner.LastLoss);
    }

    // The driver: one child process per composer, weighted_sum first, then the table relative to it.
    private static bool RunAll(BenchmarkOptions o, TextWriter log)
    {
        var names = new[] { "weighted_sum" }.Concat(o.Composers.Where(n => n != "weighted_sum")).Distinct().ToArray();
        var args = Environment.GetCommandLineArgs().Skip(1).ToList();
        int at = args.IndexOf("--composers");
        if (at >= 0)
            args.RemoveRange(at, Math.Min(2, args.Count - at));
        string host = Environment.ProcessPath!;
        var prefix = Path.GetFileNameWithoutExtension(host) == "dotnet" ? new[] { Environment.GetCommandLineArgs()[0] } : [];
        var rows = new List<(string Name, double StepMs, double MemMiB)>();
        log.WriteLine($"Model: ViT depth {o.Depth}, dim {o.Dim}, patch {o.Patch}, image {o.Image}, batch {o.Batch}; tasks land_use ({o.Classes} classes), scene (5), count; " +
            $"{o.Steps} timed steps after {o.Warmup}; {o.Device}, {o.PrecisionLabel}; one process per composer.");
        foreach (var name in names)
        {
            var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in prefix.Concat(args).Concat(["--composer", name]))
                start.ArgumentList.Add(a);
            using var child = Process.Start(start)!;
            string output = child.StandardOutput.ReadToEnd();
            string errors = child.StandardError.ReadToEnd();
            child.WaitForExit();
            var result = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
            if (child.ExitCode != 0 || result is null)
            {
                log.WriteLine($"{name}: failed (exit {child.ExitCode}): {errors.Trim()}{output.Trim()}");
                continue;
            }

            var fields = result.Split(' ').Select(f => f.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
            rows.Add((name, double.Parse(fields["step_ms"], CultureInfo.InvariantCulture), double.Parse(fields["mem_mib"], CultureInfo.InvariantCulture)));
            log.WriteLine(result);
        }

        if (rows.Count == 0 || rows[0].Name != "weighted_sum")
            return false;
        var (_, baseMs, baseMem) = rows[0];
        log.WriteLine();
        log.WriteLine("| composer | step time | × weighted_sum | peak memory | × weighted_sum |");
        log.WriteLine("| --- | --- | --- | --- | --- |");
        foreach (var (name, ms, mem) in rows)
            log.WriteLine($"| {name} | {F(ms, "F1")} ms | {F(ms / baseMs, "F2")} | {F(mem, "F0")} MiB | {F(mem / baseMem, "F2")} |");
        return rows.Count == names.Length;
    }
}
