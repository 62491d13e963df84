using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SpatialNet.DependencyInjection;
using SpatialNet.IO;
using SpatialNet.Training.Configuration;
using SpatialNet.Training.Engine;
using SpatialNet.Training.Pipeline;

namespace SpatialNet.Training.Comparison;

/// <summary>What <see cref="ComposerComparison.Run"/> trains and where it writes.</summary>
internal sealed class ComparisonOptions
{
    /// <summary>The run's configuration file (as <c>spatialnet train --config</c>).</summary>
    public required string ConfigurationFile { get; init; }

    /// <summary><c>key=value</c> overrides applied to every run (as <c>--set</c>).</summary>
    public IReadOnlyList<string> Overrides { get; init; } = [];

    /// <summary>Loss composer names (<c>loss:loss_composer</c>), each trained once per seed.</summary>
    public required IReadOnlyList<string> Composers { get; init; }

    /// <summary>Number of seeds; runs use <c>trainer:seed</c> = 1 … <see cref="Seeds"/>. Default 3.</summary>
    public int Seeds { get; init; } = 3;

    /// <summary>Also train each task alone (the single-task reference of Δm). Default true; needs at least two tasks.</summary>
    public bool SingleTask { get; init; } = true;

    /// <summary>Output folder: <c>runs/…</c>, <c>compare.json</c>, <c>compare.md</c>, <c>compare.png</c>.</summary>
    public required string OutputDirectory { get; init; }
}

/// <summary>Reports the comparison's progress: a run starts (its label, index from 1, count) or is taken from an earlier invocation.</summary>
internal interface IComparisonProgress
{
    /// <summary>Run <paramref name="index"/> of <paramref name="count"/> starts; <paramref name="reused"/> when its finished result is read back instead.</summary>
    void RunStarting(ComparisonRunKey run, int index, int count, bool reused);

    /// <summary>The training progress of the current run (null: none).</summary>
    ITrainingProgress? Training => null;
}

/// <summary>One run of a comparison: a composer (or one task alone) and a seed.</summary>
/// <param name="Composer">The loss composer's name (<c>weighted_sum</c> for single-task runs).</param>
/// <param name="Task">The task trained alone, or null for a multi-task run.</param>
/// <param name="Seed">The run's <c>trainer:seed</c>.</param>
internal sealed record ComparisonRunKey(string Composer, string? Task, int Seed)
{
    /// <summary>How tables name the run's group: the composer, or <c>single:TASK</c>.</summary>
    [JsonIgnore]
    public string Group => Task is null ? Composer : "single:" + Task;

    /// <summary>The run's folder below the comparison's <c>runs/</c>.</summary>
    [JsonIgnore]
    public string Folder => Path.Combine(Task is null ? Composer : "single-" + Task, FormattableString.Invariant($"seed-{Seed}"));

    /// <inheritdoc />
    public override string ToString() => FormattableString.Invariant($"{Group} seed {Seed}");
}

/// <summary>What one finished run measured: each task's primary validation metric, step time and memory.</summary>
/// <param name="Key">Which run.</param>
/// <param name="Metrics">Task → value of its primary metric on the evaluated split.</param>
/// <param name="MetricNames">Task → name of that metric (<c>accuracy</c>, <c>mae</c>, …).</param>
/// <param name="StepSeconds">Training wall-clock seconds per optimizer step (per-epoch validation included).</param>
/// <param name="PeakMemoryMiB">Peak resident memory of the process while the run trained (sampled every 50 ms), MiB.</param>
internal sealed record ComparisonRun(ComparisonRunKey Key, IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyDictionary<string, string> MetricNames, double StepSeconds, [property: JsonPropertyName("peak_memory_mib")] double PeakMemoryMiB);

/// <summary>
/// <c>spatialnet compare</c>: trains one configuration once per loss composer and seed, and each task
/// alone, then summarises each task's metric (mean ± standard deviation over seeds), the multi-task
/// gain Δm% against the single-task runs (Maninis et al. 2019), step time and memory
/// (<see cref="ComparisonSummary"/>). A finished run leaves <c>comparison-run.json</c> in its folder and
/// is not trained again, so an interrupted comparison continues where it stopped.
/// </summary>
internal static class ComposerComparison
{
    /// <summary>Name of the file a finished run writes into its folder.</summary>
    public const string RunFileName = "comparison-run.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Trains every run not finished before, then writes <c>compare.json</c>, <c>compare.md</c> and <c>compare.png</c>.</summary>
    /// <exception cref="ConfigurationException">No composer, fewer than one seed, or a configuration the runs cannot use.</exception>
    public static ComparisonSummary Run(ComparisonOptions options, ILogger? logger = null, IComparisonProgress? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        logger ??= NullLogger.Instance;
        var composers = options.Composers.Select(c => c.Trim()).Where(c => c.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (composers.Count == 0)
            throw new ConfigurationException("--composers: name at least one loss composer (e.g. weighted_sum,uncertainty).");
        if (options.Seeds < 1)
            throw new ConfigurationException(FormattableString.Invariant($"--seeds: {options.Seeds} is not a positive number of seeds."));

        var baseConfiguration = SpatialNetConfiguration.Load(options.ConfigurationFile, options.Overrides);
        var tasks = TaskNames(baseConfiguration, options.ConfigurationFile);
        var keys = new List<ComparisonRunKey>();
        for (int seed = 1; seed <= options.Seeds; seed++)
        {
            keys.AddRange(composers.Select(c => new ComparisonRunKey(c, null, seed)));
            if (options.SingleTask && tasks.Count > 1)
                keys.AddRange(tasks.Select(t => new ComparisonRunKey(WeightedSumName, t, seed)));
        }

        var output = Path.GetFullPath(options.OutputDirectory);
        Directory.CreateDirectory(output);
        var runs = new List<ComparisonRun>();
        for (int i = 0; i < keys.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var key = keys[i];
            var folder = Path.Combine(output, "runs", key.Folder);
            var done = ReadRun(Path.Combine(folder, RunFileName));
            progress?.RunStarting(key, i + 1, keys.Count, done is not null);
            runs.Add(done ?? Train(options, key, tasks, folder, logger, progress?.Training, cancellationToken));
        }

        var summary = ComparisonSummary.From(runs, composers, tasks);
        summary.Write(output);
        return summary;
    }

    private const string WeightedSumName = "weighted_sum";

    private static ComparisonRun Train(ComparisonOptions options, ComparisonRunKey key, IReadOnlyList<string> tasks, string folder,
        ILogger logger, ITrainingProgress? training, CancellationToken cancellationToken)
    {
        var overrides = options.Overrides.Concat([
            "loss:loss_composer=" + key.Composer,
            FormattableString.Invariant($"trainer:seed={key.Seed}"),
            "output_dir=" + folder,
        ]);
        IConfiguration configuration = SpatialNetConfiguration.Load(options.ConfigurationFile, overrides);
        if (key.Task is not null)
            configuration = OnlyTask(configuration, key.Task);

        using var memory = new PeakMemory();
        var result = TrainingPipeline.Run(configuration, logger, cancellationToken,
            new TrainingPipelineOptions { Overwrite = Directory.Exists(folder), Progress = training });
        var seconds = result.Training.History.Epochs.LastOrDefault()?.ElapsedSeconds ?? result.ElapsedSeconds;
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in result.Report.Result.Tasks)
        {
            names[t.Task.Name] = t.PrimaryMetric;
            metrics[t.Task.Name] = t.Metrics.TryGetValue(t.PrimaryMetric, out var v) ? v : double.NaN;
        }

        var run = new ComparisonRun(key, metrics, names, seconds / Math.Max(1, result.Training.GlobalStep), memory.PeakMiB);
        AtomicFile.WriteAllText(Path.Combine(folder, RunFileName), JsonSerializer.Serialize(run, Json));
        return run;
    }

    private static ComparisonRun? ReadRun(string path)
    {
        if (!File.Exists(path))
            return null;
        try
        {
            return JsonSerializer.Deserialize<ComparisonRun>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a comparison run record ({e.Message}); delete it to train that run again.", e);
        }
    }

    /// <summary>The configured task names, in order.</summary>
    internal static IReadOnlyList<string> TaskNames(IConfiguration configuration, string file)
    {
        var names = configuration.GetSection("tasks").GetChildren()
            .OrderBy(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : int.MaxValue)
            .Select(c => c["name"]).ToList();
        if (names.Count == 0 || names.Any(string.IsNullOrEmpty))
            throw new ConfigurationException($"{file}: tasks: every task of a comparison needs a name.");
        return names!;
    }

    /// <summary>
    /// The configuration with one task left (renumbered <c>tasks:0</c>), trained with the weighted sum; a
    /// <c>trainer:monitor</c> naming another task's metric is dropped (the run monitors its default).
    /// </summary>
    internal static IConfiguration OnlyTask(IConfiguration configuration, string task)
    {
        string? index = configuration.GetSection("tasks").GetChildren().FirstOrDefault(c => c["name"] == task)?.Key;
        if (index is null)
            throw new ConfigurationException($"tasks: no task named '{task}'.");
        var kept = new List<KeyValuePair<string, string?>>();
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            var parts = key.Split(':', 3);
            if (string.Equals(parts[0], "tasks", StringComparison.OrdinalIgnoreCase))
            {
                if (parts.Length >= 2 && parts[1] == index)
                    kept.Add(new("tasks:0" + (parts.Length == 3 ? ":" + parts[2] : ""), value));
                continue;
            }

            if (string.Equals(key, "trainer:monitor", StringComparison.OrdinalIgnoreCase) && value is not null
                && !value.StartsWith(task + "/", StringComparison.Ordinal))
                continue;
            if (string.Equals(key, "loss:loss_composer", StringComparison.OrdinalIgnoreCase))
                continue;
            kept.Add(new(key, value));
        }

        kept.Add(new("loss:loss_composer", WeightedSumName));
        return new ConfigurationBuilder().AddInMemoryCollection(kept).Build();
    }

    /// <summary>The process's peak resident memory while it lives, sampled every 50 ms.</summary>
    private sealed class PeakMemory : IDisposable
    {
        private readonly Timer timer;
        private long peak;

        public PeakMemory()
        {
            Sample(null);
            timer = new Timer(Sample, null, 50, 50);
        }

        public double PeakMiB => Interlocked.Read(ref peak) / (1024.0 * 1024.0);

        public void Dispose()
        {
            timer.Dispose();
            Sample(null);
        }

        private void Sample(object? state)
        {
            using var process = Process.GetCurrentProcess();
            long now = process.WorkingSet64;
            long seen;
            while (now > (seen = Interlocked.Read(ref peak)) && Interlocked.CompareExchange(ref peak, now, seen) != seen)
            {
            }
        }
    }
}
