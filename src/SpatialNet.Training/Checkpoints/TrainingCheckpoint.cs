using SpatialNet.IO;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SpatialNet.Training.Optimization;
using SpatialNet.Training.Randomness;
using SpatialNet.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace SpatialNet.Training.Checkpoints;

/// <summary>Where training stands: the position a resumed run continues from.</summary>
/// <param name="Epoch">0-based epoch in progress (or the next one when <paramref name="BatchInEpoch"/> is 0).</param>
/// <param name="BatchInEpoch">Batches of <paramref name="Epoch"/> already trained.</param>
/// <param name="GlobalStep">Optimizer steps taken since the start of training.</param>
public sealed record TrainingPosition(int Epoch, int BatchInEpoch, long GlobalStep);

/// <summary>What a checkpoint holds besides tensors, as returned by <see cref="TrainingCheckpoint.Restore"/>.</summary>
/// <param name="Position">Training position.</param>
/// <param name="Precision">Precision mode the checkpoint was written under.</param>
/// <param name="CreatedUtc">When it was written.</param>
/// <param name="Extra">Caller metadata passed to <see cref="TrainingCheckpoint.Save"/> (for example trainer state as JSON).</param>
internal sealed record CheckpointInfo(TrainingPosition Position, PrecisionMode Precision, DateTime CreatedUtc, IReadOnlyDictionary<string, string> Extra);

/// <summary>
/// Saves and restores everything a training run needs to continue bit-for-bit on CPU: the module's
/// state dict, the flat optimizer (step, moments, float32 masters under mixed precision), the
/// learning-rate schedule, the training position, the torch CPU generator state and a
/// <see cref="SeededRandom"/> state. One file, written atomically (<see cref="AtomicFile"/>), in the
/// safetensors layout (docs/training.md lists its keys):
/// <list type="bullet">
/// <item><c>model.&lt;state-dict key&gt;</c> — module parameters and buffers (in the module's dtype);</item>
/// <item><c>optimizer.&lt;bucket&gt;.exp_avg</c>, <c>.exp_avg_sq</c>, <c>.master</c> (mixed precision only), <c>.step</c> (per-element
/// step counts, float64, once a parameter of the bucket sat a step out) — flat buffers;</item>
/// <item><c>rng.torch_cpu</c> — the CPU generator state (uint8);</item>
/// <item><c>loss_composer_state.&lt;name&gt;</c> — the trainable's tensor state (a loss composer's tracked per-task gradients), in its dtype;</item>
/// <item>metadata <c>spatialnet.checkpoint</c> — JSON with format version, position, optimizer layout, schedule and PRNG state;
/// other metadata keys are the caller's <c>extra</c> entries.</item>
/// </list>
/// CUDA generator state is not saved (TorchSharp exposes no getter); GPU runs are not bit-reproducible anyway.
/// </summary>
internal static class TrainingCheckpoint
{
    /// <summary>Metadata key of the checkpoint's own JSON record.</summary>
    public const string MetadataKey = "spatialnet.checkpoint";

    /// <summary>Version of the layout written by this code (2: with <see cref="ChecksumKey"/>; version 1 files, without it, are still read).</summary>
    public const int FormatVersion = 2;

    /// <summary>Metadata key of the SHA-256 (hex) of the file's tensor data, verified whenever a checkpoint's tensors are read.</summary>
    public const string ChecksumKey = SafetensorsFile.ChecksumKey;

    private const string ModelPrefix = "model.";
    private const string OptimizerPrefix = "optimizer.";
    private const string TorchRngName = "rng.torch_cpu";

    /// <summary>Prefix of the trainable's tensor state (<see cref="Engine.ITrainable.SaveTensorState"/>).</summary>
    internal const string StatePrefix = "loss_composer_state.";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter() },
        WriteIndented = false,
    };

    /// <summary>Writes a checkpoint to <paramref name="path"/> atomically.</summary>
    /// <param name="path">Target file (conventionally <c>*.safetensors</c>).</param>
    /// <param name="module">The model.</param>
    /// <param name="optimizer">The optimizer over the model's parameters.</param>
    /// <param name="schedule">Learning-rate schedule, or <c>null</c>.</param>
    /// <param name="position">Training position.</param>
    /// <param name="random">Host PRNG to save, or <c>null</c>.</param>
    /// <param name="extra">Further metadata strings (keys must not be <see cref="MetadataKey"/>).</param>
    /// <param name="stateTensors">Further tensors, stored under <see cref="StatePrefix"/> + name.</param>
    internal static void Save(string path, nn.Module module, FlatAdamW optimizer, ILearningRateSchedule? schedule, TrainingPosition position,
        SeededRandom? random = null, IReadOnlyDictionary<string, string>? extra = null, IReadOnlyDictionary<string, Tensor>? stateTensors = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(position);
        using var scope = NewDisposeScope();
        var tensors = new List<(string, Tensor)>();
        foreach (var (key, t) in module.state_dict())
            tensors.Add((ModelPrefix + key, t));

        var state = optimizer.ExportState();
        var buckets = new List<BucketRecord>(state.Buckets.Count);
        for (int b = 0; b < state.Buckets.Count; b++)
        {
            var s = state.Buckets[b];
            tensors.Add((BucketKey(b, "exp_avg"), s.ExpAvg));
            tensors.Add((BucketKey(b, "exp_avg_sq"), s.ExpAvgSq));
            if (s.MasterWeights is not null)
                tensors.Add((BucketKey(b, "master"), s.MasterWeights));
            if (s.Steps is not null)
                tensors.Add((BucketKey(b, "step"), s.Steps));
            buckets.Add(new BucketRecord(s.Group, s.NumElements, s.MasterWeights is not null, [.. s.ParameterNames], s.Steps is not null));
        }
        tensors.Add((TorchRngName, torch.random.get_rng_state()));
        foreach (var (name, t) in stateTensors ?? new Dictionary<string, Tensor>())
            tensors.Add((StatePrefix + name, t));

        var record = new CheckpointRecord(
            FormatVersion, DateTime.UtcNow, position, optimizer.Parameters.Precision,
            new OptimizerRecord(state.Step, optimizer.LearningRateFactor, buckets),
            schedule?.ExportState(),
            random?.GetState().Select(w => w.ToString(CultureInfo.InvariantCulture)).ToArray());
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (extra is not null)
        {
            foreach (var (k, v) in extra)
            {
                if (k is MetadataKey or ChecksumKey)
                    throw new ArgumentException($"Extra metadata must not use the reserved keys '{MetadataKey}', '{ChecksumKey}'.", nameof(extra));
                metadata[k] = v;
            }
        }
        metadata[MetadataKey] = JsonSerializer.Serialize(record, Json);
        metadata[ChecksumKey] = Convert.ToHexStringLower(SafetensorsFile.DataSha256(tensors));
        AtomicFile.Write(path, stream => SafetensorsFile.Write(stream, tensors, metadata));
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="Save"/> into existing objects built like the
    /// original ones (same model layout, parameter groups and precision).
    /// </summary>
    /// <param name="path">The checkpoint.</param>
    /// <param name="module">The model to restore into.</param>
    /// <param name="optimizer">The optimizer to restore into.</param>
    /// <param name="schedule">Learning-rate schedule to restore, or <c>null</c>.</param>
    /// <param name="random">Host PRNG to restore, or <c>null</c>.</param>
    /// <param name="restoreState">Receives the tensors saved under <see cref="StatePrefix"/> (names without it; empty when there are none), valid only during the call.</param>
    /// <exception cref="CheckpointException">No file at <paramref name="path"/>, not a checkpoint, damaged (checksum), or its layout does not match the objects.</exception>
    internal static CheckpointInfo Restore(string path, nn.Module module, FlatAdamW optimizer, ILearningRateSchedule? schedule = null, SeededRandom? random = null,
        Action<IReadOnlyDictionary<string, Tensor>>? restoreState = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!File.Exists(path))
            throw new CheckpointException(path, $"Checkpoint '{path}' does not exist.");
        using var reader = SafetensorsFile.Open(path);
        var record = ReadRecord(path, reader);
        if (record.Precision != optimizer.Parameters.Precision)
            throw new CheckpointException(path, $"Checkpoint '{path}' was written with precision {record.Precision}; the optimizer uses {optimizer.Parameters.Precision}. " +
                $"Set TrainerOptions.Precision (config \"precision\") to {record.Precision} to resume it (the default, Auto, picks BFloat16Mixed on CUDA and Float32 elsewhere).");

        using var scope = NewDisposeScope();
        RestoreModel(path, reader, module);

        var buckets = new List<FlatAdamWBucketState>(record.Optimizer.Buckets.Count);
        for (int b = 0; b < record.Optimizer.Buckets.Count; b++)
        {
            var r = record.Optimizer.Buckets[b];
            buckets.Add(new FlatAdamWBucketState(r.Group, r.NumElements, r.Parameters,
                reader.Read(BucketKey(b, "exp_avg")), reader.Read(BucketKey(b, "exp_avg_sq")),
                r.HasMaster ? reader.Read(BucketKey(b, "master")) : null,
                r.HasSteps ? reader.Read(BucketKey(b, "step")) : null));
        }
        try
        {
            optimizer.ImportState(new FlatAdamWState(record.Optimizer.Step, buckets));
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException(path, $"Checkpoint '{path}': {e.Message}", e);
        }
        optimizer.LearningRateFactor = record.Optimizer.LearningRateFactor;

        if (schedule is not null)
        {
            if (record.Schedule is null)
                throw new CheckpointException(path, $"Checkpoint '{path}' has no schedule state, but a schedule was given to restore.");
            schedule.ImportState(record.Schedule);
        }
        if (random is not null)
        {
            if (record.Random is not { Length: 4 })
                throw new CheckpointException(path, $"Checkpoint '{path}' has no PRNG state, but a generator was given to restore.");
            random.SetState(record.Random.Select(s => ulong.Parse(s, CultureInfo.InvariantCulture)).ToArray());
        }
        if (reader.Contains(TorchRngName))
            torch.random.set_rng_state(reader.Read(TorchRngName));
        restoreState?.Invoke(reader.Names.Where(n => n.StartsWith(StatePrefix, StringComparison.Ordinal))
            .ToDictionary(n => n[StatePrefix.Length..], reader.Read, StringComparer.Ordinal));

        var extra = reader.Metadata.Where(kv => kv.Key != MetadataKey).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new CheckpointInfo(record.Position, record.Precision, record.CreatedUtc, extra);
    }

    /// <summary>
    /// The model's weights in a checkpoint, at full precision: the state dict saved under
    /// <c>model.</c> (names without that prefix), where every trainable parameter of a mixed-precision
    /// run carries its float32 master value instead of the bfloat16 model copy. New CPU tensors in the
    /// current dispose scope. Use it to export or evaluate a checkpoint without the bfloat16 rounding.
    /// </summary>
    /// <exception cref="CheckpointException">No file at <paramref name="path"/>, not a SpatialNet training checkpoint, damaged (checksum), or its optimizer layout does not match its model entries.</exception>
    public static Dictionary<string, Tensor> ReadModelWeights(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException(path, $"Checkpoint '{path}' does not exist.");
        using var reader = SafetensorsFile.Open(path);
        var record = ReadRecord(path, reader);
        var result = reader.Names.Where(n => n.StartsWith(ModelPrefix, StringComparison.Ordinal))
            .ToDictionary(n => n[ModelPrefix.Length..], reader.Read, StringComparer.Ordinal);
        for (int b = 0; b < record.Optimizer.Buckets.Count; b++)
        {
            var bucket = record.Optimizer.Buckets[b];
            if (!bucket.HasMaster)
                continue;
            // Masters are the bucket's parameters, flattened and concatenated in the recorded order.
            var master = reader.Read(BucketKey(b, "master"));
            long offset = 0;
            foreach (var name in bucket.Parameters)
            {
                if (!result.TryGetValue(name, out var stored))
                    throw new CheckpointException(path, $"Checkpoint '{path}': optimizer bucket {b} lists parameter '{name}', which is not among the model entries.");
                long n = stored.numel();
                if (offset + n > master.numel())
                    throw new CheckpointException(path, $"Checkpoint '{path}': optimizer bucket {b}'s master weights ({master.numel()} values) are shorter than its parameters.");
                result[name] = master.narrow(0, offset, n).reshape(stored.shape);
                offset += n;
            }
            if (offset != master.numel())
                throw new CheckpointException(path, $"Checkpoint '{path}': optimizer bucket {b}'s master weights hold {master.numel()} values; its parameters {offset}.");
        }
        return result;
    }

    /// <summary>Reads the metadata of a checkpoint (position, precision, extra) without touching any model; checks it and the data's checksum.</summary>
    internal static CheckpointInfo ReadInfo(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException(path, $"Checkpoint '{path}' does not exist.");
        using var reader = SafetensorsFile.Open(path);
        var record = ReadRecord(path, reader);
        var extra = reader.Metadata.Where(kv => kv.Key != MetadataKey).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new CheckpointInfo(record.Position, record.Precision, record.CreatedUtc, extra);
    }

    private static CheckpointRecord ReadRecord(string path, SafetensorsReader reader)
    {
        if (!reader.Metadata.TryGetValue(MetadataKey, out var json))
            throw new CheckpointException(path, $"Checkpoint '{path}' has no '{MetadataKey}' metadata; it was not written by SpatialNet's trainer.");
        CheckpointRecord record;
        try
        {
            record = JsonSerializer.Deserialize<CheckpointRecord>(json, Json) ?? throw new JsonException("null record");
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"Checkpoint '{path}': metadata '{MetadataKey}' is malformed ({e.Message}).", e);
        }
        if (record.FormatVersion is not (1 or FormatVersion))
            throw new CheckpointException(path, $"Checkpoint '{path}' has format version {record.FormatVersion}; this build reads versions 1 and {FormatVersion}.");
        if (record.FormatVersion >= 2)
        {
            if (!reader.Metadata.TryGetValue(ChecksumKey, out var expected))
                throw new CheckpointException(path, $"Checkpoint '{path}' has no '{ChecksumKey}' metadata, which format version {record.FormatVersion} requires.");
            var actual = Convert.ToHexStringLower(reader.DataSha256());
            if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                throw new CheckpointException(path, $"Checkpoint '{path}' is damaged: the SHA-256 of its tensor data is {actual}, the checkpoint recorded {expected} when it was written. Use another checkpoint (best/last) or start again.");
        }
        var p = record.Position;
        if (p is null || p.Epoch < 0 || p.BatchInEpoch < 0 || p.GlobalStep < 0 || record.Optimizer is null || record.Optimizer.Buckets is null)
            throw new CheckpointException(path, $"Checkpoint '{path}': metadata '{MetadataKey}' has a missing or negative position (epoch, batch_in_epoch, global_step) or no optimizer record.");
        return record;
    }

    private static void RestoreModel(string path, SafetensorsReader reader, nn.Module module)
    {
        var target = module.state_dict();
        var stored = reader.Names.Where(n => n.StartsWith(ModelPrefix, StringComparison.Ordinal)).Select(n => n[ModelPrefix.Length..]).ToHashSet(StringComparer.Ordinal);
        var missing = target.Keys.Where(k => !stored.Contains(k)).ToList();
        var unexpected = stored.Where(k => !target.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new CheckpointException(path, 
                $"Checkpoint '{path}' does not match the model: missing {Describe(missing)}; unexpected {Describe(unexpected)}.");
        using var noGrad = no_grad();
        foreach (var (key, t) in target)
        {
            var source = reader.Read(ModelPrefix + key);
            if (!source.shape.SequenceEqual(t.shape))
                throw new CheckpointException(path, 
                    $"Checkpoint '{path}': '{key}' has shape [{string.Join(", ", source.shape)}], the model [{string.Join(", ", t.shape)}].");
            // copy_ writes into the existing tensor, so parameters stay views into the flat buffers.
            t.copy_(source);
        }
    }

    private static string BucketKey(int bucket, string what) => FormattableString.Invariant($"{OptimizerPrefix}{bucket}.{what}");

    /// <summary>Up to <paramref name="max"/> quoted names, then how many more, for error messages.</summary>
    internal static string Describe(IEnumerable<string> names, int max = 8)
    {
        var list = names.ToList();
        if (list.Count == 0)
            return "none";
        var text = string.Join(", ", list.Take(max).Select(n => $"'{n}'"));
        return list.Count > max ? FormattableString.Invariant($"{text} and {list.Count - max} more") : text;
    }

    private sealed record CheckpointRecord(int FormatVersion, DateTime CreatedUtc, TrainingPosition Position, PrecisionMode Precision,
        OptimizerRecord Optimizer, ScheduleState? Schedule, string[]? Random);

    private sealed record OptimizerRecord(long Step, double LearningRateFactor, IReadOnlyList<BucketRecord> Buckets);

    private sealed record BucketRecord(string Group, long NumElements, bool HasMaster, IReadOnlyList<string> Parameters, bool HasSteps = false);
}
